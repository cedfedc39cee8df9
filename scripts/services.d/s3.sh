# S3-compatible object store (s3s-fs 0.14.1, built once with cargo into the cache): 127.0.0.1:19000.
# Data under $STATE/s3/data; every directory there is a bucket (the tests' bucket `avb-test` is created
# at start). Static key pair below is a loopback-only test credential, not a secret.
# Sourced by scripts/services; see the contract in the header of redis.sh.
# (s3s-fs 0.17 needs a newer rustc than the toolchain here; stay on 0.14.1.)
S3_PORT=19000
S3_VERSION=0.14.1
S3_ACCESS_KEY=avbtestaccess
S3_SECRET_KEY=avbtestsecret0123456789
S3_BUCKET=avb-test
s3_dir() { echo "$STATE/s3"; }
s3_bin() { echo "$CACHE/s3s-fs-$S3_VERSION/bin/s3s-fs"; }
s3_pidfile() { echo "$(s3_dir)/s3s-fs.pid"; }
s3_install() {
  [[ -x $(s3_bin) ]] && return 0
  command -v cargo >/dev/null || die "s3: cargo is needed to build s3s-fs $S3_VERSION"
  say "building s3s-fs $S3_VERSION with cargo (slow, once per cache: $CACHE)"
  cargo install s3s-fs --version "$S3_VERSION" --locked --features binary \
    --root "$CACHE/s3s-fs-$S3_VERSION" >&2 || die "cargo install s3s-fs $S3_VERSION failed"
}
s3_ready() { [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$S3_PORT/") == 403 ]]; }
s3_start() {
  local dir; dir=$(s3_dir)
  mkdir -p "$dir/data/$S3_BUCKET"
  nohup "$(s3_bin)" --host 127.0.0.1 --port "$S3_PORT" \
    --access-key "$S3_ACCESS_KEY" --secret-key "$S3_SECRET_KEY" "$dir/data" \
    >"$dir/s3s-fs.log" 2>&1 </dev/null &
  echo $! >"$(s3_pidfile)"
  wait_until s3 "$dir/s3s-fs.log" s3_ready
}
s3_stop() { kill "$(cat "$(s3_pidfile)")" 2>/dev/null || true; }
s3_env() {
  echo "export AVB_TEST_S3_URL=http://127.0.0.1:$S3_PORT"
  echo "export AVB_TEST_S3_ACCESS_KEY=$S3_ACCESS_KEY"
  echo "export AVB_TEST_S3_SECRET_KEY=$S3_SECRET_KEY"
  echo "export AVB_TEST_S3_BUCKET=$S3_BUCKET"
}
s3_addr() { echo "127.0.0.1:$S3_PORT"; }
s3_port() { echo "$S3_PORT"; }
