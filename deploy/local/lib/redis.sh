# shellcheck shell=bash disable=SC2034 # REDIS_PORT_ACTIVE is read by services.sh
# Redis: Debian's redis-server, our own instance (the system service, if any,
# is left alone). AOF persistence, data under $STATE_DIR/redis.

REDIS_DIR="$STATE_DIR/redis"
REDIS_PIDFILE="$REDIS_DIR/redis.pid"
REDIS_LOG="$REDIS_DIR/redis.log"
REDIS_START_TIMEOUT=${REDIS_START_TIMEOUT:-30}
# A Redis still loading a large append-only file answers LOADING: it is making progress, so
# it gets this much longer before we give up.
REDIS_LOAD_TIMEOUT=${REDIS_LOAD_TIMEOUT:-600}

redis_ensure_installed() {
  command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 && return 0
  log "redis: redis-server not found, installing Debian package (apt-get install -y redis-server)"
  need_cmd apt-get "Install redis-server (>= 6) manually."
  if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server >&2; then
    log "redis: install failed, refreshing package lists and retrying"
    as_root apt-get update -q >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server >&2
  fi
  command -v redis-server >/dev/null 2>&1 || die "redis-server still not on PATH after install"
}

# Our redis-server rewrites its process title to "redis-server 127.0.0.1:<port>".
redis_pid() { pid_running "$REDIS_PIDFILE" "redis-server 127.0.0.1:$1"; }

redis_wait_ready() {
  local port=$1 start reply loading=""
  start=$(now_s)
  local deadline=$(( start + REDIS_START_TIMEOUT ))
  until reply=$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null) && [ "$reply" = "PONG" ]; do
    if [ -z "$loading" ] && [[ "$reply" == LOADING* ]]; then
      loading=1
      deadline=$(( start + REDIS_LOAD_TIMEOUT ))
      log "redis: loading its append-only file (up to ${REDIS_LOAD_TIMEOUT}s; data: $REDIS_DIR/data)"
    fi
    if [ "$(now_s)" -ge "$deadline" ]; then
      show_log_tail "$REDIS_LOG"
      die "redis: not answering PING on 127.0.0.1:$port after $(( $(now_s) - start ))s (last reply: ${reply:-none})"
    fi
    sleep 0.2
  done
}

# redis_up: ensure our instance runs; sets REDIS_PORT_ACTIVE.
redis_up() {
  local port pid
  port=$(port_get REDIS_PORT)
  if [ -n "$port" ] && pid=$(redis_pid "$port"); then
    [ -z "${REDIS_PORT:-}" ] || [ "$REDIS_PORT" = "$port" ] ||
      die "redis: already running on port $port (pid $pid) but REDIS_PORT=$REDIS_PORT; run services:down first"
    log "redis: already running (pid $pid, port $port)"
    redis_wait_ready "$port"
    REDIS_PORT_ACTIVE=$port
    return 0
  fi

  redis_ensure_installed
  rm -f "$REDIS_PIDFILE"
  mkdir -p "$REDIS_DIR/data"
  port=$(choose_port REDIS_PORT "${REDIS_PORT:-}")
  port_set REDIS_PORT "$port"

  log "redis: starting $(redis-server --version | awk '{print $3}' | sed 's/^v=//') on 127.0.0.1:$port (data: $REDIS_DIR/data)"
  # RDB snapshots are off (--save ""): the append-only file is the persistence.
  redis-server \
    --bind 127.0.0.1 --port "$port" --protected-mode yes \
    --daemonize yes --pidfile "$REDIS_PIDFILE" \
    --dir "$REDIS_DIR/data" --logfile "$REDIS_LOG" \
    --appendonly yes --appendfsync everysec --save "" \
    9>&- >&2 || { show_log_tail "$REDIS_LOG"; die "redis: redis-server failed to start"; }

  redis_wait_ready "$port"
  pid=$(redis_pid "$port") || { show_log_tail "$REDIS_LOG"; die "redis: answering on $port but pid file $REDIS_PIDFILE is not ours"; }
  log "redis: ready (pid $pid)"
  REDIS_PORT_ACTIVE=$port
}

redis_down() {
  # Match any redis-server we started from this state dir (port may have changed).
  stop_pid redis "$REDIS_PIDFILE" "redis-server 127.0.0.1:" 20
}
