# Redis 7 (Debian's redis-server) for the Redis Streams event bus: 127.0.0.1:16379, append-only, fsync always.
# Sourced by scripts/services. A service file defines <name>_{install,start,stop,pidfile,addr,port,env,dir,ready}
# (ready: the probe `up` waits on and `diagnose` reruns);
# it may use STATE, CACHE, TIMEOUT, say, die, wait_until and apt_install from the driver.
REDIS_PORT=16379
redis_dir() { echo "$STATE/redis"; }
redis_pidfile() { echo "$(redis_dir)/redis.pid"; }
redis_install() {
  command -v redis-server >/dev/null && command -v redis-cli >/dev/null || apt_install redis-server redis-tools
}
redis_ready() { [[ $(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]; }
redis_start() {
  local dir; dir=$(redis_dir)
  mkdir -p "$dir/data"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --protected-mode yes \
    --daemonize yes --pidfile "$(redis_pidfile)" --logfile "$dir/redis.log" \
    --dir "$dir/data" --appendonly yes --appendfsync always --save "" >/dev/null
  wait_until redis "$dir/redis.log" redis_ready
}
redis_stop() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown >/dev/null 2>&1 || kill "$(cat "$(redis_pidfile)")" 2>/dev/null || true; }
redis_env() {
  echo "export AVB_TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT"
  echo "export AVB_TEST_REDIS_SERVER_BIN=$(command -v redis-server || echo redis-server)"
}
redis_addr() { echo "127.0.0.1:$REDIS_PORT"; }
redis_port() { echo "$REDIS_PORT"; }

