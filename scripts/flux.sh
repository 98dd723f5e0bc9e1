#!/usr/bin/env bash
# flux.sh - command-line client for the Flux world state engine.
#
# Commands, arguments and environment are those of the original Flux agent skill, so agents and
# scripts written for it keep working. Run without arguments for help.
#
# Environment:
#   FLUX_URL          base URL (default http://localhost:3000)
#   FLUX_TOKEN        bearer token sent with every request when set (namespace token)
#   FLUX_ADMIN_TOKEN  admin token, sent as bearer by `admin-config UPDATE_JSON`
#
# Output: the JSON response on stdout, pretty-printed with jq, else python3 -m json.tool, else
# as received. Progress notes go to stderr. Exit status: 0 on success, 1 on a usage error, an
# HTTP error status (4xx/5xx, body still printed) or when Flux cannot be reached.

set -euo pipefail

FLUX_URL="${FLUX_URL:-http://localhost:3000}"
FLUX_URL="${FLUX_URL%/}"
FLUX_TOKEN="${FLUX_TOKEN:-}"
FLUX_ADMIN_TOKEN="${FLUX_ADMIN_TOKEN:-}"

usage() {
  cat <<EOF
Flux CLI - publish events to and query the Flux state engine

Usage: flux.sh COMMAND [ARGS]

Commands:
  publish STREAM SOURCE ENTITY_ID PROPERTIES_JSON
      Publish one event (timestamp: now, epoch milliseconds)
  get ENTITY_ID
      Show the current state of an entity
  list [--prefix PREFIX | --namespace NS]
      List entities, optionally filtered
  delete ENTITY_ID
      Delete one entity
  batch-delete FILTER_JSON
      Delete by {"namespace": ...}, {"prefix": ...} or {"entity_ids": [...]}
  batch EVENTS_JSON_ARRAY
      Publish several events at once (missing timestamps are set to now)
  connectors
      List connectors and their status
  admin-config [UPDATE_JSON]
      Show the runtime config, or update it (needs FLUX_ADMIN_TOKEN)
  health
      Check that Flux is up

Environment:
  FLUX_URL          ${FLUX_URL}
  FLUX_TOKEN        bearer token for requests (needed on public instances)
  FLUX_ADMIN_TOKEN  admin token for admin-config updates

Examples:
  flux.sh publish sensors agent-01 my-ns/room-101 '{"temperature":22.5}'
  flux.sh get my-ns/room-101
  flux.sh list --prefix my-ns/
  flux.sh batch-delete '{"prefix":"my-ns/loadtest-"}'
EOF
}

die_usage() {
  if [[ $# -gt 0 ]]; then
    printf 'flux.sh: %s\n\n' "$1" >&2
  fi
  usage >&2
  exit 1
}

# Pretty-prints JSON from stdin: jq, else python3 -m json.tool, else unchanged.
format_output() {
  local body
  body="$(cat)"
  if [[ -z "$body" ]]; then
    return 0
  fi
  if command -v jq >/dev/null 2>&1 && printf '%s\n' "$body" | jq . 2>/dev/null; then
    return 0
  fi
  if command -v python3 >/dev/null 2>&1 && printf '%s\n' "$body" | python3 -m json.tool 2>/dev/null; then
    return 0
  fi
  printf '%s\n' "$body"
}

# Percent-encodes every byte except RFC 3986 unreserved characters (so "/" becomes %2F).
urlencode() {
  local LC_ALL=C
  local input="$1" output="" char i
  for ((i = 0; i < ${#input}; i++)); do
    char="${input:i:1}"
    case "$char" in
      [A-Za-z0-9.~_-]) output+="$char" ;;
      *) output+="$(printf '%%%02X' "'$char")" ;;
    esac
  done
  printf '%s' "$output"
}

# Encodes a shell string as a JSON string literal (quotes included).
json_string() {
  local LC_ALL=C
  local input="$1" output="" char code i
  for ((i = 0; i < ${#input}; i++)); do
    char="${input:i:1}"
    case "$char" in
      '"') output+='\"' ;;
      '\') output+='\\' ;;
      $'\n') output+='\n' ;;
      $'\r') output+='\r' ;;
      $'\t') output+='\t' ;;
      *)
        printf -v code '%d' "'$char"
        if ((code >= 0 && code < 32)) || ((code == 127)); then
          output+="$(printf '\\u%04x' "$code")"
        else
          output+="$char"
        fi
        ;;
    esac
  done
  printf '"%s"' "$output"
}

now_ms() {
  local ms
  ms="$(date +%s%3N 2>/dev/null || true)"
  if [[ ! "$ms" =~ ^[0-9]{13,}$ ]]; then
    ms="$(($(date +%s) * 1000))"
  fi
  printf '%s' "$ms"
}

# api METHOD PATH [BODY] [BEARER]
# Prints the response body (pretty) on stdout; returns 1 on HTTP >= 400 or a transport error.
api() {
  local method="$1" path="$2" body="${3:-}" bearer="${4-$FLUX_TOKEN}"
  local -a args=(-sS -X "$method" -w '\n%{http_code}' -H 'Accept: application/json')
  if [[ -n "$bearer" ]]; then
    args+=(-H "Authorization: Bearer ${bearer}")
  fi
  if [[ -n "$body" ]]; then
    args+=(-H 'Content-Type: application/json' --data-binary @-)
  fi
  local response status
  if ! response="$(printf '%s' "$body" | curl "${args[@]}" "${FLUX_URL}${path}")"; then
    printf 'flux.sh: could not reach Flux at %s\n' "$FLUX_URL" >&2
    return 1
  fi
  status="${response##*$'\n'}"
  response="${response%$'\n'*}"
  if [[ "$response" == "$status" ]]; then
    response=""
  fi
  printf '%s' "$response" | format_output
  if [[ ! "$status" =~ ^[0-9]{3}$ ]] || ((status >= 400)); then
    printf 'flux.sh: HTTP %s from %s %s\n' "$status" "$method" "$path" >&2
    return 1
  fi
  return 0
}

# Adds "timestamp": now to every event of a JSON array that has none (jq, else python3).
with_timestamps() {
  local events="$1" ts
  ts="$(now_ms)"
  if command -v jq >/dev/null 2>&1; then
    printf '%s' "$events" | jq -c --argjson ts "$ts" \
      'if type == "array" then map(if type == "object" and (has("timestamp") | not) then . + {timestamp: $ts} else . end) else . end' \
      2>/dev/null && return 0
  fi
  if command -v python3 >/dev/null 2>&1; then
    printf '%s' "$events" | python3 -c '
import json, sys
ts = int(sys.argv[1])
events = json.load(sys.stdin)
if isinstance(events, list):
    for event in events:
        if isinstance(event, dict) and "timestamp" not in event:
            event["timestamp"] = ts
json.dump(events, sys.stdout, separators=(",", ":"))
' "$ts" 2>/dev/null && return 0
  fi
  printf '%s' "$events"
}

cmd_publish() {
  if [[ $# -ne 4 || -z "$1" || -z "$2" || -z "$3" || -z "$4" ]]; then
    die_usage 'publish needs STREAM SOURCE ENTITY_ID PROPERTIES_JSON'
  fi
  local stream="$1" source="$2" entity_id="$3" properties="$4" event
  event="{\"stream\":$(json_string "$stream"),\"source\":$(json_string "$source"),\"timestamp\":$(now_ms),\"payload\":{\"entity_id\":$(json_string "$entity_id"),\"properties\":${properties}}}"
  printf 'Publishing event to %s...\n' "$FLUX_URL" >&2
  api POST /api/events "$event"
}

cmd_get() {
  if [[ $# -ne 1 || -z "$1" ]]; then
    die_usage 'get needs ENTITY_ID'
  fi
  api GET "/api/state/entities/$(urlencode "$1")"
}

cmd_list() {
  local query=""
  case "$#" in
    0) ;;
    2)
      case "$1" in
        --prefix) query="?prefix=$(urlencode "$2")" ;;
        --namespace) query="?namespace=$(urlencode "$2")" ;;
        *) die_usage "unknown list option: $1" ;;
      esac
      ;;
    *) die_usage 'list takes no option, --prefix PREFIX or --namespace NS' ;;
  esac
  api GET "/api/state/entities${query}"
}

cmd_delete() {
  if [[ $# -ne 1 || -z "$1" ]]; then
    die_usage 'delete needs ENTITY_ID'
  fi
  printf 'Deleting entity %s...\n' "$1" >&2
  api DELETE "/api/state/entities/$(urlencode "$1")"
}

cmd_batch_delete() {
  if [[ $# -ne 1 || -z "$1" ]]; then
    die_usage "batch-delete needs FILTER_JSON, e.g. '{\"prefix\":\"loadtest-\"}'"
  fi
  printf 'Batch deleting entities...\n' >&2
  api POST /api/state/entities/delete "$1"
}

cmd_batch() {
  if [[ $# -ne 1 || -z "$1" ]]; then
    die_usage 'batch needs EVENTS_JSON_ARRAY'
  fi
  local events
  events="$(with_timestamps "$1")"
  printf 'Publishing batch to %s...\n' "$FLUX_URL" >&2
  api POST /api/events/batch "{\"events\":${events}}"
}

cmd_connectors() {
  if [[ $# -ne 0 ]]; then
    die_usage 'connectors takes no arguments'
  fi
  api GET /api/connectors
}

cmd_admin_config() {
  case "$#" in
    0) api GET /api/admin/config ;;
    1)
      if [[ -z "$FLUX_ADMIN_TOKEN" ]]; then
        printf 'flux.sh: FLUX_ADMIN_TOKEN must be set to update the config\n' >&2
        exit 1
      fi
      api PUT /api/admin/config "$1" "$FLUX_ADMIN_TOKEN"
      ;;
    *) die_usage 'admin-config takes at most one UPDATE_JSON' ;;
  esac
}

cmd_health() {
  if [[ $# -ne 0 ]]; then
    die_usage 'health takes no arguments'
  fi
  printf 'Checking Flux at %s...\n' "$FLUX_URL" >&2
  api GET /health '' ''
}

main() {
  if [[ $# -eq 0 ]]; then
    die_usage
  fi
  local command="$1"
  shift
  case "$command" in
    publish) cmd_publish "$@" ;;
    get) cmd_get "$@" ;;
    list) cmd_list "$@" ;;
    delete) cmd_delete "$@" ;;
    batch-delete) cmd_batch_delete "$@" ;;
    batch) cmd_batch "$@" ;;
    connectors) cmd_connectors "$@" ;;
    admin-config) cmd_admin_config "$@" ;;
    health) cmd_health "$@" ;;
    *) die_usage "unknown command: $command" ;;
  esac
}

main "$@"
