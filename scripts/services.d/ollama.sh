# Ollama itself (Go module `github.com/ollama/ollama`, built here from the Go module proxy with the machine's Go
# and C/C++ compiler, CPU only) on 127.0.0.1:11434, serving the same Gemma 3 270M GGUF as llamacpp.sh under the
# name `avb-gemma3`: the real server of the `ollama` LLM backend (`/v1/*` OpenAI-compatible, `/api/*` its own).
# Sourced by scripts/services; see the contract in the header of redis.sh.
#
# Install (once, into $CACHE/ollama/<version>/ollama): `go install github.com/ollama/ollama@<version>` with
# CGO. Its vendored llama.cpp needs three third-party headers from its `vendor/` folders, which Go module zips
# never contain (cmd/go drops every `vendor/` directory from a module), so the build supplies them:
# nlohmann/json and stb_image from Debian (`nlohmann-json3-dev`, `libstb-dev`, in /usr/include) and
# miniaudio.h from the source distribution of PyPI `miniaudio` (it bundles the header), put in
# $CACHE/ollama/<version>/include and passed with CGO_CPPFLAGS. CGO_CFLAGS/CGO_CXXFLAGS `-O2 -march=native`
# (see OLLAMA_CFLAGS). GOCACHE/GOMODCACHE live in $CACHE/go (shared with minio.sh); GOTOOLCHAIN=local (never
# download a toolchain).
#
# Start: `ollama serve` with OLLAMA_HOST=127.0.0.1:11434, OLLAMA_MODELS and HOME under $STATE/ollama (its key
# pair and models stay there), no update checks or pulls; then `ollama create avb-gemma3` from
# scripts/services.d/ollama/Modelfile with `FROM <the GGUF>` (offline: the CLI uploads the local file to the
# server). Ready when `/api/tags` lists the model and a warm-up generate has loaded it (kept loaded:
# OLLAMA_KEEP_ALIVE=-1), so the first test does not pay the load.
OLLAMA_PORT=11434
OLLAMA_VERSION=v0.17.4
OLLAMA_MODEL_NAME=avb-gemma3
OLLAMA_MINIAUDIO_PY_VERSION=1.71
# The cgo-compiled ggml CPU code takes its SIMD level from the compiler's target: Go's default (generic x86-64,
# SSE2 only) runs this model at a fifth of llama.cpp's speed. The binary is built for the machine that runs it.
OLLAMA_CFLAGS="-O2 -march=native"
ollama_home() { echo "$CACHE/ollama/$OLLAMA_VERSION"; }
# ollama_cpu: a key of this CPU (model and feature flags): a binary built with -march=native is kept per CPU, so
# a services cache copied to another machine rebuilds instead of dying on an illegal instruction.
ollama_cpu() { { grep -m1 '^model name' /proc/cpuinfo; grep -m1 '^flags' /proc/cpuinfo; } 2>/dev/null | cksum | cut -d' ' -f1; }
ollama_bin() { echo "$(ollama_home)/cpu-$(ollama_cpu)/ollama"; }
ollama_dir() { echo "$STATE/ollama"; }
ollama_pidfile() { echo "$(ollama_dir)/ollama.pid"; }

# ollama_headers: the vendored headers the Go module lacks (see above).
ollama_headers() {
  [[ -f /usr/include/nlohmann/json_fwd.hpp && -f /usr/include/stb/stb_image.h ]] ||
    apt_install nlohmann-json3-dev libstb-dev
  local inc; inc=$(ollama_home)/include
  [[ -s $inc/miniaudio/miniaudio.h ]] && return 0
  local tmp; tmp=$(mktemp -d)
  say "fetching miniaudio.h from PyPI miniaudio $OLLAMA_MINIAUDIO_PY_VERSION (source distribution)"
  { python3 -m venv "$tmp/venv" && "$tmp/venv/bin/pip" download -q --no-cache-dir --no-deps --no-binary miniaudio \
    -d "$tmp" "miniaudio==$OLLAMA_MINIAUDIO_PY_VERSION"; } >&2 ||
    { rm -rf "$tmp"; die "pip download miniaudio==$OLLAMA_MINIAUDIO_PY_VERSION (sdist) failed"; }
  mkdir -p "$inc/miniaudio"
  tar -xzf "$tmp/miniaudio-$OLLAMA_MINIAUDIO_PY_VERSION.tar.gz" -O \
    "miniaudio-$OLLAMA_MINIAUDIO_PY_VERSION/miniaudio/miniaudio.h" >"$inc/miniaudio/miniaudio.h.part" &&
    mv "$inc/miniaudio/miniaudio.h.part" "$inc/miniaudio/miniaudio.h" ||
    { rm -rf "$tmp"; die "miniaudio.h not found in the miniaudio $OLLAMA_MINIAUDIO_PY_VERSION sdist"; }
  rm -rf "$tmp"
}

ollama_install() {
  llm_gguf_install # from llamacpp.sh: the GGUF both LLM servers load
  [[ -x $(ollama_bin) ]] && return 0
  command -v go >/dev/null || die "ollama: Go ≥ 1.24 is needed to build it (the machine's go is missing)"
  command -v g++ >/dev/null || apt_install g++
  command -v python3 >/dev/null || apt_install python3
  ollama_headers
  local home tmp log; home=$(ollama_home); tmp=$home/bin.part; log=$home/build.log
  mkdir -p "$CACHE/go" "$tmp"
  say "building ollama $OLLAMA_VERSION with go install (CGO, CPU only) into $home; log: $log"
  GOTOOLCHAIN=local CGO_ENABLED=1 CGO_CPPFLAGS="-I$home/include" CGO_CFLAGS="$OLLAMA_CFLAGS" \
    CGO_CXXFLAGS="$OLLAMA_CFLAGS" GOBIN="$tmp" \
    GOCACHE="$CACHE/go/build" GOMODCACHE="$CACHE/go/mod" \
    go install -modcacherw -trimpath \
    -ldflags "-s -w -X github.com/ollama/ollama/version.Version=${OLLAMA_VERSION#v}" \
    "github.com/ollama/ollama@$OLLAMA_VERSION" >"$log" 2>&1 ||
    { tail -n 20 "$log" >&2; rm -rf "$tmp"; die "go install github.com/ollama/ollama@$OLLAMA_VERSION failed"; }
  mkdir -p "$(dirname "$(ollama_bin)")"
  mv "$tmp/ollama" "$(ollama_bin)"
  rm -rf "$tmp"
}

# ollama_environ: OLLAMA_ENVIRON, the `env` arguments every ollama command of this state directory runs with.
ollama_environ() {
  local dir; dir=$(ollama_dir)
  OLLAMA_ENVIRON=(-u OLLAMA_ORIGINS "HOME=$dir/home" "OLLAMA_HOST=127.0.0.1:$OLLAMA_PORT" "OLLAMA_MODELS=$dir/models"
    OLLAMA_KEEP_ALIVE=-1 OLLAMA_NUM_PARALLEL=1 OLLAMA_MAX_LOADED_MODELS=1 OLLAMA_NOPRUNE=1 OLLAMA_NO_CLOUD=1)
}
ollama_lists_model() {
  curl -sf "http://127.0.0.1:$OLLAMA_PORT/api/tags" | grep -q "\"name\":\"$OLLAMA_MODEL_NAME:latest\""
}
# Ready: the server answers and lists the model (what `up` waits for last; `diagnose` reruns it).
ollama_ready() { ollama_lists_model; }
ollama_start() {
  local dir; dir=$(ollama_dir)
  mkdir -p "$dir/home" "$dir/models"
  ollama_environ
  nohup env "${OLLAMA_ENVIRON[@]}" "$(ollama_bin)" serve >"$dir/ollama.log" 2>&1 </dev/null &
  echo $! >"$(ollama_pidfile)"
  wait_until ollama "$dir/ollama.log" curl -sf "http://127.0.0.1:$OLLAMA_PORT/api/version" || return 1
  # At every start, so the model follows the Modelfile; once the blob is on the server this takes < 1 s.
  { echo "FROM $(llm_gguf)"; cat "$ROOT/scripts/services.d/ollama/Modelfile"; } >"$dir/Modelfile"
  env "${OLLAMA_ENVIRON[@]}" "$(ollama_bin)" create "$OLLAMA_MODEL_NAME" -f "$dir/Modelfile" >"$dir/create.log" 2>&1 ||
    { tail -n 20 "$dir/create.log" >&2; return 1; }
  wait_until ollama "$dir/ollama.log" ollama_lists_model || return 1
  # Load the model now (a generate without a prompt only loads it); it stays loaded (OLLAMA_KEEP_ALIVE=-1).
  curl -sf -m "$((TIMEOUT > 120 ? TIMEOUT : 120))" "http://127.0.0.1:$OLLAMA_PORT/api/generate" \
    -d "{\"model\":\"$OLLAMA_MODEL_NAME\"}" -o /dev/null ||
    { say "ollama: loading $OLLAMA_MODEL_NAME failed"; tail -n 20 "$dir/ollama.log" >&2; return 1; }
}
ollama_stop() { kill "$(cat "$(ollama_pidfile)")" 2>/dev/null || true; }
ollama_env() {
  echo "export AVB_TEST_OLLAMA_URL=http://127.0.0.1:$OLLAMA_PORT"
  echo "export AVB_TEST_OLLAMA_MODEL=$OLLAMA_MODEL_NAME"
}
ollama_addr() { echo "127.0.0.1:$OLLAMA_PORT"; }
ollama_port() { echo "$OLLAMA_PORT"; }
