# An OpenTelemetry Collector (core modules go.opentelemetry.io/collector/* v0.165.0 with the v1.71.0 1.x
# modules) built from scripts/services.d/otelcol/ (main.go, go.mod, go.sum) with the machine's Go: the real OTLP
# receiver of avb's OTLP export test (tests/trace_otelcol.rs). OTLP/HTTP on 127.0.0.1:14318, OTLP/gRPC on
# 127.0.0.1:14317; every batch of traces is appended to $STATE/otelcol/traces.jsonl as one line of OTLP/JSON
# (the `jsonfile` exporter in main.go, encoded by the collector's pdata JSON marshaler).
# Sourced by scripts/services; see the contract in the header of redis.sh.
# Install: `go build` into $CACHE/otelcol-<hash of the module files>/avb-otelcol (a changed main.go, go.mod or
# go.sum builds anew), GOCACHE/GOMODCACHE under $CACHE/go (shared with minio.sh and ollama.sh), GOTOOLCHAIN=local
# (never download a toolchain), -mod=readonly (go.sum pins every module; nothing is resolved at build time).
# Start: config.yaml with the ports and the output path filled in, written to $STATE/otelcol/config.yaml; the
# output file is emptied at every start (tests find their own spans by a service name of their own).
OTELCOL_PORT=14318
OTELCOL_GRPC_PORT=14317
otelcol_src() { echo "$ROOT/scripts/services.d/otelcol"; }
otelcol_dir() { echo "$STATE/otelcol"; }
otelcol_out() { echo "$(otelcol_dir)/traces.jsonl"; }
otelcol_bin() {
  local src hash; src=$(otelcol_src)
  hash=$(cat "$src/main.go" "$src/go.mod" "$src/go.sum" | sha256sum | cut -c1-16)
  echo "$CACHE/otelcol-$hash/avb-otelcol"
}
otelcol_pidfile() { echo "$(otelcol_dir)/otelcol.pid"; }
otelcol_install() {
  local bin; bin=$(otelcol_bin)
  [[ -x $bin ]] && return 0
  command -v go >/dev/null || die "otelcol: go is needed to build $(otelcol_src)"
  say "building the OpenTelemetry Collector (otelcol v0.165.0) with $(go version | cut -d' ' -f3) (once per cache: $CACHE)"
  (cd "$(otelcol_src)" &&
    GOCACHE="$CACHE/go/build" GOMODCACHE="$CACHE/go/mod" GOTOOLCHAIN=local CGO_ENABLED=0 \
      GOFLAGS="-buildvcs=false -trimpath -modcacherw -mod=readonly" \
      go build -o "$bin.tmp" . >&2) || die "otelcol: go build in $(otelcol_src) failed"
  mv "$bin.tmp" "$bin"
}
otelcol_ready() {
  port_busy "$OTELCOL_PORT" && grep -q 'Everything is ready' "$(otelcol_dir)/otelcol.log"
}
otelcol_start() {
  local dir; dir=$(otelcol_dir)
  mkdir -p "$dir"
  : >"$(otelcol_out)"
  sed -e "s#@PORT@#$OTELCOL_PORT#" -e "s#@GRPC_PORT@#$OTELCOL_GRPC_PORT#" -e "s#@OUT@#$(otelcol_out)#" \
    "$(otelcol_src)/config.yaml" >"$dir/config.yaml"
  nohup "$(otelcol_bin)" --config "file:$dir/config.yaml" >"$dir/otelcol.log" 2>&1 </dev/null &
  echo $! >"$(otelcol_pidfile)"
  wait_until otelcol "$dir/otelcol.log" otelcol_ready
}
otelcol_stop() { kill "$(cat "$(otelcol_pidfile)")" 2>/dev/null || true; }
otelcol_env() {
  echo "export AVB_TEST_OTELCOL_URL=http://127.0.0.1:$OTELCOL_PORT"
  echo "export AVB_TEST_OTELCOL_TRACES=$(otelcol_out)"
}
otelcol_addr() { echo "127.0.0.1:$OTELCOL_PORT"; }
otelcol_port() { echo "$OTELCOL_PORT"; }
