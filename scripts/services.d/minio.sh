# MinIO (the server the requirements name for the sandbox object store), built once from its Go module with
# the machine's Go into the cache: 127.0.0.1:19020, web console 127.0.0.1:19021. Single drive under
# $STATE/minio/data; the bucket `avb-test` is created at start with a SigV4-signed PUT (curl --aws-sigv4).
# The root key pair below is a loopback-only test credential, not a secret.
# Sourced by scripts/services; see the contract in the header of redis.sh.
# MinIO's RELEASE.* tags are not semver and the module proxy here answers 403 to such queries (and to
# `@master`), so the version is the pseudo-version of the newest commit (master of 2026-02-12, `@latest`).
# Go's build and module caches live under the services cache too: a CI cache restore reuses them, and an empty
# cache measures the whole build honestly. GOTOOLCHAIN=local: build with the machine's Go, never download one;
# -modcacherw: the module cache stays deletable with rm -rf.
MINIO_PORT=19020
MINIO_CONSOLE_PORT=19021
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
MINIO_ACCESS_KEY=avbminioroot
MINIO_SECRET_KEY=avbminiosecret0123456789
MINIO_BUCKET=avb-test
minio_dir() { echo "$STATE/minio"; }
minio_bin() { echo "$CACHE/minio-$MINIO_VERSION/bin/minio"; }
minio_pidfile() { echo "$(minio_dir)/minio.pid"; }
minio_install() {
  [[ -x $(minio_bin) ]] && return 0
  command -v go >/dev/null || die "minio: go is needed to build github.com/minio/minio@$MINIO_VERSION"
  say "building minio $MINIO_VERSION with $(go version | cut -d' ' -f3) (slow, once per cache: $CACHE)"
  GOBIN="$CACHE/minio-$MINIO_VERSION/bin" GOCACHE="$CACHE/go/build" GOMODCACHE="$CACHE/go/mod" \
    GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-buildvcs=false -trimpath -modcacherw" \
    go install "github.com/minio/minio@$MINIO_VERSION" >&2 ||
    die "go install github.com/minio/minio@$MINIO_VERSION failed"
}
minio_live() { [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MINIO_PORT/minio/health/live") == 200 ]]; }
# PUT Bucket answers 200 when created and 409 (BucketAlreadyOwnedByYou) on a restart with old data.
minio_make_bucket() {
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT --aws-sigv4 "aws:amz:us-east-1:s3" \
    --user "$MINIO_ACCESS_KEY:$MINIO_SECRET_KEY" "http://127.0.0.1:$MINIO_PORT/$MINIO_BUCKET")
  [[ $code == 200 || $code == 409 ]]
}
minio_ready() { minio_live && minio_make_bucket; }
# MINIO_UPDATE=off: no update check. MINIO_CI_CD=1: no root-drive check on the data directory, and the
# buffer pool capped at 256 MiB instead of up to half the machine's memory (cmd/erasure-server-pool.go).
minio_start() {
  local dir; dir=$(minio_dir)
  mkdir -p "$dir/data"
  MINIO_ROOT_USER="$MINIO_ACCESS_KEY" MINIO_ROOT_PASSWORD="$MINIO_SECRET_KEY" \
    MINIO_UPDATE=off MINIO_CI_CD=1 \
    nohup "$(minio_bin)" server "$dir/data" --quiet --anonymous \
    --address "127.0.0.1:$MINIO_PORT" --console-address "127.0.0.1:$MINIO_CONSOLE_PORT" \
    >"$dir/minio.log" 2>&1 </dev/null &
  echo $! >"$(minio_pidfile)"
  wait_until minio "$dir/minio.log" minio_ready
}
minio_stop() { kill "$(cat "$(minio_pidfile)")" 2>/dev/null || true; }
minio_env() {
  echo "export AVB_TEST_MINIO_URL=http://127.0.0.1:$MINIO_PORT"
  echo "export AVB_TEST_MINIO_ACCESS_KEY=$MINIO_ACCESS_KEY"
  echo "export AVB_TEST_MINIO_SECRET_KEY=$MINIO_SECRET_KEY"
  echo "export AVB_TEST_MINIO_BUCKET=$MINIO_BUCKET"
}
minio_addr() { echo "127.0.0.1:$MINIO_PORT"; }
minio_port() { echo "$MINIO_PORT"; }
