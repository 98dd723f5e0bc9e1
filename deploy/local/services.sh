#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Local Kafka + Redis for Flux without Docker. See deploy/local/README.md.
#
#   services.sh up [--redis-cluster]   start (or reuse) both; prints `export ...` lines on stdout
#                                  (--redis-cluster: a 3-master Redis Cluster instead of one Redis)
#   services.sh down [--purge]     stop both; --purge also deletes their data
#   services.sh status             show what is running
#   services.sh kafka-tool <Class> [args...]   run a Kafka CLI class with the cached jars
#   services.sh kafka-libs         fetch the Kafka jars once; print their directory
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STATE_DIR=${FLUX_SERVICES_DIR:-$HOME/.cache/flux/services}

# shellcheck source=lib/common.sh
. "$HERE/lib/common.sh"
# shellcheck source=lib/redis.sh
. "$HERE/lib/redis.sh"
# shellcheck source=lib/kafka.sh
. "$HERE/lib/kafka.sh"

usage() { sed -n '3,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit "${1:-0}"; }

# Serialize concurrent up/down calls on the same state dir. Children started
# by us close fd 9 so they never hold the lock.
take_lock() {
  mkdir -p "$STATE_DIR"
  exec 9>"$STATE_DIR/.lock"
  flock -w 300 9 || die "timed out waiting for another services.sh run (lock $STATE_DIR/.lock)"
}

cmd_up() {
  local cluster=${FLUX_SERVICES_REDIS_CLUSTER:-${npm_config_redis_cluster:-}}
  case "${1:-}" in
    --redis-cluster) cluster=1 ;;
    "") ;;
    *) usage 2 ;;
  esac
  case "$cluster" in false|0) cluster="" ;; esac
  need_cmd node "Node.js is required (it is the project's runtime)."
  need_cmd flock "Install util-linux."
  take_lock
  local t0; t0=$(now_s)
  if [ -n "$cluster" ]; then redis_cluster_up; else redis_up; fi
  kafka_up
  log "ready in $(( $(now_s) - t0 ))s (state: $STATE_DIR)"
  # Must stay the last lines on stdout.
  printf 'export KAFKA_BROKERS=127.0.0.1:%s\n' "$KAFKA_PORT_ACTIVE"
  printf 'export REDIS_URL=redis://127.0.0.1:%s\n' "$REDIS_PORT_ACTIVE"
  if [ -n "$cluster" ]; then printf 'export FLUX_REDIS_CLUSTER=true\n'; else printf 'unset FLUX_REDIS_CLUSTER\n'; fi
}

cmd_down() {
  local purge=${FLUX_SERVICES_PURGE:-${npm_config_purge:-}}
  case "${1:-}" in
    --purge) purge=1 ;;
    "") ;;
    *) usage 2 ;;
  esac
  case "$purge" in false|0) purge="" ;; esac
  [ -d "$STATE_DIR" ] || { log "nothing to stop ($STATE_DIR does not exist)"; return 0; }
  take_lock
  kafka_down
  redis_down
  redis_cluster_down
  if [ -n "$purge" ]; then
    log "purging data: $KAFKA_DIR $REDIS_DIR $REDIS_CLUSTER_DIR $STATE_DIR/ports.env"
    rm -rf "$KAFKA_DIR" "$REDIS_DIR" "$REDIS_CLUSTER_DIR" "$STATE_DIR/ports.env"
  fi
}

cmd_status() {
  local pid port
  port=$(port_get REDIS_PORT)
  if [ -n "$port" ] && pid=$(redis_pid "$port"); then
    log "redis: running, pid $pid, redis://127.0.0.1:$port"
  else log "redis: stopped"; fi
  port=$(port_get KAFKA_PORT)
  if [ -n "$port" ] && pid=$(kafka_pid); then
    log "kafka: running, pid $pid, 127.0.0.1:$port"
  else log "kafka: stopped"; fi
  log "state dir: $STATE_DIR; kafka jars: $KAFKA_LIBS"
}

case "${1:-}" in
  up) shift; [ $# -le 1 ] || usage 2; cmd_up "$@" ;;
  down) shift; cmd_down "$@" ;;
  status) cmd_status ;;
  kafka-tool) shift; [ $# -ge 1 ] || usage 2; kafka_fetch; kafka_java "$@" ;;
  kafka-libs) kafka_fetch; printf '%s\n' "$KAFKA_LIBS" ;;
  -h|--help|help) usage 0 ;;
  *) usage 2 ;;
esac
