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

# Redis Cluster (services.sh up --redis-cluster): three masters, no replicas, AOF on, under
# $STATE_DIR/redis-cluster/<port>. Each node also listens on port + 10000 (the cluster bus), so
# ports are taken below 55535, where the kernel hands out no ephemeral ports.
REDIS_CLUSTER_DIR="$STATE_DIR/redis-cluster"
REDIS_CLUSTER_SIZE=3

redis_cluster_node_pid() { pid_running "$REDIS_CLUSTER_DIR/$1/redis.pid" "redis-server 127.0.0.1:$1"; }

# redis_cluster_port: a free port whose bus port (+10000) is free too.
redis_cluster_port() {
  local port
  while :; do
    port=$(( 20000 + RANDOM % 10000 ))
    port_bindable "$port" && port_bindable $(( port + 10000 )) && { printf '%s\n' "$port"; return; }
  done
}

redis_cluster_ok() { redis-cli -h 127.0.0.1 -p "$1" cluster info 2>/dev/null | grep -q '^cluster_state:ok'; }

# redis_cluster_up: ensure our cluster runs; sets REDIS_PORT_ACTIVE (a seed node).
redis_cluster_up() {
  local ports port i pid deadline running=0
  ports=""
  [ ! -f "$STATE_DIR/ports.env" ] || ports=$(sed -n 's/^REDIS_CLUSTER_PORTS=\([0-9,]*\)$/\1/p' "$STATE_DIR/ports.env" | tail -n1)
  if [ -n "$ports" ]; then
    for port in ${ports//,/ }; do redis_cluster_node_pid "$port" >/dev/null && running=$(( running + 1 )); done
  fi
  if [ -n "$ports" ] && [ "$running" -eq "$REDIS_CLUSTER_SIZE" ] && redis_cluster_ok "${ports%%,*}"; then
    log "redis cluster: already running (ports $ports)"
    REDIS_PORT_ACTIVE=${ports%%,*}
    return 0
  fi
  [ "$running" -eq 0 ] || die "redis cluster: only $running of its nodes run (ports $ports); run services:down first"

  redis_ensure_installed
  rm -rf "$REDIS_CLUSTER_DIR"
  ports=""
  for i in $(seq 1 "$REDIS_CLUSTER_SIZE"); do
    port=$(redis_cluster_port)
    case ",$ports," in *",$port,"*) port=$(redis_cluster_port) ;; esac
    ports=${ports:+$ports,}$port
    mkdir -p "$REDIS_CLUSTER_DIR/$port"
    redis-server \
      --bind 127.0.0.1 --port "$port" --protected-mode yes \
      --cluster-enabled yes --cluster-config-file nodes.conf \
      --daemonize yes --pidfile "$REDIS_CLUSTER_DIR/$port/redis.pid" \
      --dir "$REDIS_CLUSTER_DIR/$port" --logfile "$REDIS_CLUSTER_DIR/$port/redis.log" \
      --appendonly yes --appendfsync everysec --save "" \
      9>&- >&2 || { show_log_tail "$REDIS_CLUSTER_DIR/$port/redis.log"; die "redis cluster: node $i failed to start"; }
  done
  port_set REDIS_CLUSTER_PORTS "$ports"
  for port in ${ports//,/ }; do redis_wait_ready "$port"; done
  log "redis cluster: joining $ports ($REDIS_CLUSTER_SIZE masters, no replicas)"
  # shellcheck disable=SC2046 # one argument per node
  redis-cli --cluster create $(printf '127.0.0.1:%s ' ${ports//,/ }) --cluster-replicas 0 --cluster-yes >&2 ||
    die "redis cluster: redis-cli --cluster create failed"
  deadline=$(( $(now_s) + REDIS_START_TIMEOUT ))
  for port in ${ports//,/ }; do
    until redis_cluster_ok "$port"; do
      [ "$(now_s)" -lt "$deadline" ] || die "redis cluster: node $port not cluster_state:ok"
      sleep 0.2
    done
    pid=$(redis_cluster_node_pid "$port") || die "redis cluster: node $port answers but its pid file is not ours"
  done
  log "redis cluster: ready (ports $ports)"
  REDIS_PORT_ACTIVE=${ports%%,*}
}

redis_cluster_down() {
  local dir
  [ -d "$REDIS_CLUSTER_DIR" ] || return 0
  for dir in "$REDIS_CLUSTER_DIR"/*/; do
    [ -d "$dir" ] || continue
    stop_pid "redis cluster node $(basename "$dir")" "$dir/redis.pid" "redis-server 127.0.0.1:" 20
  done
}
