# shellcheck shell=bash
# Shared helpers for deploy/local/services.sh. Sourced, not executed.
# Everything human-readable goes to stderr: stdout is reserved for the
# `export ...` lines that `eval "$(npm run --silent services:up)"` consumes.

log() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] ERROR: %s\n' "$*" >&2; exit 1; }

need_cmd() { command -v "$1" >/dev/null 2>&1 || die "$1 not found on PATH. $2"; }

now_s() { date +%s; }

# Run a command as root (directly, or via sudo when available).
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "need root to run: $*"; fi
}

# pid_running <pidfile> <cmdline-substring>
# True (and prints the pid) when the pidfile names a live process whose
# command line contains the given substring (guards against pid reuse).
pid_running() {
  local pidfile=$1 needle=$2 pid
  [ -s "$pidfile" ] || return 1
  pid=$(tr -dc '0-9' <"$pidfile")
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$needle" || return 1
  printf '%s\n' "$pid"
}

# tcp_open <port>: something accepts TCP connections on 127.0.0.1:<port>.
tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# port_bindable <port>: we could bind 127.0.0.1:<port> right now.
port_bindable() {
  node -e '
    const s = require("net").createServer();
    s.once("error", () => process.exit(1));
    s.listen(+process.argv[1], "127.0.0.1", () => s.close(() => process.exit(0)));
  ' "$1" 2>/dev/null
}

# free_ports <n>: print n distinct currently-free ports (one per line), chosen
# by the kernel (bind to port 0), all held open at once so they differ.
free_ports() {
  node -e '
    const net = require("net");
    const n = +process.argv[1], servers = [];
    const next = () => {
      if (servers.length === n) {
        console.log(servers.map((s) => s.address().port).join("\n"));
        servers.forEach((s) => s.close());
        return;
      }
      const s = net.createServer();
      s.listen(0, "127.0.0.1", () => { servers.push(s); next(); });
    };
    next();
  ' "$1"
}

# stop_pid <name> <pidfile> <cmdline-substring> [grace-seconds]
# SIGTERM, wait up to grace seconds, then SIGKILL. Idempotent.
stop_pid() {
  local name=$1 pidfile=$2 needle=$3 grace=${4:-30} pid deadline
  if ! pid=$(pid_running "$pidfile" "$needle"); then
    log "$name: not running"
    rm -f "$pidfile"
    return 0
  fi
  log "$name: stopping pid $pid (SIGTERM, up to ${grace}s)"
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$(( $(now_s) + grace ))
  while kill -0 "$pid" 2>/dev/null && [ "$(now_s)" -lt "$deadline" ]; do sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name: still alive after ${grace}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  rm -f "$pidfile"
  log "$name: stopped"
}

# show_log_tail <file> [lines]: dump the end of a log to stderr.
show_log_tail() {
  local file=$1 lines=${2:-40}
  if [ -s "$file" ]; then
    printf -- '----- last %s lines of %s -----\n' "$lines" "$file" >&2
    tail -n "$lines" "$file" >&2
    printf -- '-----\n' >&2
  else
    printf '(log %s is empty or missing)\n' "$file" >&2
  fi
}

# Remembered ports live in $STATE_DIR/ports.env as NAME=value lines.
port_get() { [ -f "$STATE_DIR/ports.env" ] && sed -n "s/^$1=\([0-9]*\)$/\1/p" "$STATE_DIR/ports.env" | tail -n1; return 0; }
port_set() {
  local tmp="$STATE_DIR/ports.env.tmp"
  { [ -f "$STATE_DIR/ports.env" ] && grep -v "^$1=" "$STATE_DIR/ports.env"; printf '%s=%s\n' "$1" "$2"; } >"$tmp" || true
  mv "$tmp" "$STATE_DIR/ports.env"
}

# choose_port <NAME> <explicit-or-empty>: explicit port if given (must be
# free), else the remembered one if still free, else a fresh free port.
choose_port() {
  local name=$1 explicit=$2 remembered
  if [ -n "$explicit" ]; then
    port_bindable "$explicit" || die "$name=$explicit is already in use by another process"
    printf '%s\n' "$explicit"; return
  fi
  remembered=$(port_get "$name")
  if [ -n "$remembered" ] && port_bindable "$remembered"; then
    printf '%s\n' "$remembered"; return
  fi
  free_ports 1
}
