# moto's S3 server (PyPI `moto[server]` 5.2.5, in a virtualenv in the cache): 127.0.0.1:19010. A second S3
# implementation for the ObjectStore suite, to catch server-specific assumptions. In-memory: data does not
# survive a restart; the bucket `avb-test` is created at start. It does not verify signatures (any key pair).
# Sourced by scripts/services; see the contract in the header of redis.sh.
MOTO_PORT=19010
MOTO_VERSION=5.2.5
MOTO_BUCKET=avb-test
moto_dir() { echo "$STATE/moto"; }
moto_venv() { echo "$CACHE/moto-$MOTO_VERSION"; }
moto_pidfile() { echo "$(moto_dir)/moto.pid"; }
moto_install() {
  [[ -x $(moto_venv)/bin/moto_server ]] && return 0
  command -v python3 >/dev/null || die "moto: python3 is needed"
  say "installing moto[server] $MOTO_VERSION into $(moto_venv)"
  python3 -m venv "$(moto_venv)" >&2 || die "moto: python3 -m venv failed"
  "$(moto_venv)/bin/pip" install -q "moto[server]==$MOTO_VERSION" >&2 || die "pip install moto[server]==$MOTO_VERSION failed"
}
moto_ready() {
  [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MOTO_PORT/moto-api/") == 200 ]] &&
    curl -sf -X PUT "http://127.0.0.1:$MOTO_PORT/$MOTO_BUCKET" -o /dev/null
}
moto_start() {
  local dir; dir=$(moto_dir)
  mkdir -p "$dir"
  nohup "$(moto_venv)/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" >"$dir/moto.log" 2>&1 </dev/null &
  echo $! >"$(moto_pidfile)"
  wait_until moto "$dir/moto.log" moto_ready
}
moto_stop() { kill "$(cat "$(moto_pidfile)")" 2>/dev/null || true; }
moto_env() {
  echo "export AVB_TEST_MOTO_URL=http://127.0.0.1:$MOTO_PORT"
  echo "export AVB_TEST_MOTO_BUCKET=$MOTO_BUCKET"
}
moto_addr() { echo "127.0.0.1:$MOTO_PORT"; }
moto_port() { echo "$MOTO_PORT"; }
