# OIDC provider standing in for Keycloak: npm oidc-provider 9 driven by tests/fixtures/oidc/server.mjs on
# 127.0.0.1:18080, issuer http://127.0.0.1:18080/realms/avb (any /realms/<name> is its own realm with its own keys).
# Sourced by scripts/services. A service file defines <name>_{install,start,stop,pidfile,addr,port,env};
# it may use STATE, CACHE, TIMEOUT, say, die, wait_until and apt_install from the driver.
# The node modules are installed once per package-lock into $CACHE/oidc-provider-<hash> (about 4 s here).
# A running provider keeps the server.mjs it started with: after changing that file (and bumping its
# FIXTURE_VERSION, which tests/auth.rs checks at /health) restart it: scripts/services down oidc && up oidc.
OIDC_PORT=18080
oidc_fixture() { echo "$ROOT/tests/fixtures/oidc"; }
oidc_modules() {
  local hash; hash=$(cat "$(oidc_fixture)/package.json" "$(oidc_fixture)/package-lock.json" | sha256sum | cut -c1-16)
  echo "$CACHE/oidc-provider-$hash"
}
oidc_dir() { echo "$STATE/oidc"; }
oidc_pidfile() { echo "$(oidc_dir)/oidc.pid"; }
oidc_install() {
  command -v node >/dev/null && command -v npm >/dev/null || apt_install nodejs npm
  local dir; dir=$(oidc_modules)
  [[ -d $dir/node_modules/oidc-provider ]] && return
  say "installing oidc-provider (npm ci) into $dir"
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  cp "$(oidc_fixture)/package.json" "$(oidc_fixture)/package-lock.json" "$dir.tmp/"
  (cd "$dir.tmp" && npm ci --no-audit --no-fund --omit=dev --loglevel=error >/dev/null) || die "npm ci for oidc-provider failed"
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
}
oidc_ready() { curl -sf "http://127.0.0.1:$OIDC_PORT/realms/avb/.well-known/openid-configuration" >/dev/null; }
oidc_start() {
  local dir; dir=$(oidc_dir)
  mkdir -p "$dir"
  # node resolves imports from the script's own directory upwards, so run a copy placed beside node_modules.
  cp "$(oidc_fixture)/server.mjs" "$(oidc_modules)/server.mjs"
  (cd "$(oidc_modules)" && exec node server.mjs "$OIDC_PORT" >"$dir/oidc.log" 2>&1 & echo $! >"$(oidc_pidfile)")
  wait_until oidc "$dir/oidc.log" oidc_ready
}
oidc_stop() { kill "$(cat "$(oidc_pidfile)")" 2>/dev/null || true; }
oidc_env() {
  echo "export AVB_TEST_OIDC_URL=http://127.0.0.1:$OIDC_PORT/realms/avb"
}
oidc_addr() { echo "127.0.0.1:$OIDC_PORT"; }
oidc_port() { echo "$OIDC_PORT"; }
