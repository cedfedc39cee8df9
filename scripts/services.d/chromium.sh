# Headless Chromium for the dev console's browser test (tests/console_browser.rs): Debian's `chromium` and
# `chromium-driver`; chromedriver (the W3C WebDriver server) on 127.0.0.1:19515, which starts a headless
# chromium per session. Sourced by scripts/services. A service file defines
# <name>_{install,start,stop,pidfile,addr,port,env}; it may use STATE, CACHE, TIMEOUT, say, die, wait_until and
# apt_install from the driver. Installed once per machine by apt (idempotent: skipped when both binaries exist).
CHROMIUM_PORT=19515
chromium_dir() { echo "$STATE/chromium"; }
chromium_pidfile() { echo "$(chromium_dir)/chromedriver.pid"; }
chromium_bin() { command -v chromium || echo /usr/bin/chromium; }
chromium_install() {
  command -v chromium >/dev/null && command -v chromedriver >/dev/null || apt_install chromium chromium-driver
}
chromium_ready() { curl -sf "http://127.0.0.1:$CHROMIUM_PORT/status" | grep -q '"ready": *true'; }
chromium_start() {
  local dir; dir=$(chromium_dir)
  mkdir -p "$dir"
  (exec chromedriver --port="$CHROMIUM_PORT" --allowed-ips=127.0.0.1 --log-path="$dir/chromedriver.log" \
    >"$dir/stdout.log" 2>&1 & echo $! >"$(chromium_pidfile)")
  wait_until chromium "$dir/chromedriver.log" chromium_ready
}
chromium_stop() { kill "$(cat "$(chromium_pidfile)")" 2>/dev/null || true; }
chromium_env() {
  echo "export AVB_TEST_WEBDRIVER_URL=http://127.0.0.1:$CHROMIUM_PORT"
  echo "export AVB_TEST_CHROMIUM_BIN=$(chromium_bin)"
}
chromium_addr() { echo "127.0.0.1:$CHROMIUM_PORT"; }
chromium_port() { echo "$CHROMIUM_PORT"; }
