#!/usr/bin/env bash
# Stops what up.sh started (by pid file: SIGTERM, wait, then SIGKILL). Idempotent.
# down.sh --wipe also deletes the run data (Kafka log dir and cluster id, FerretDB files, logs).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"

wipe=false
case "${1:-}" in
  "") ;;
  --wipe) wipe=true ;;
  *) echo "usage: down.sh [--wipe]" >&2; exit 2 ;;
esac

stop() {
  local svc=$1 pid i
  if ! pid=$(running_pid "$svc"); then rm -f "$(pid_file "$svc")"; return; fi
  log "stopping $svc (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  # Kafka's controlled shutdown takes a few seconds; give everything up to 30 s.
  for i in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then
    log "$svc did not exit after SIGTERM, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$(pid_file "$svc")"
}

# Reverse start order: the registry first, Redis last.
for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do stop "${SERVICES[i]}"; done

if $wipe; then
  log "wiping $STACK_RUN"
  for svc in "${SERVICES[@]}"; do
    rm -rf "${STACK_RUN:?}/$svc" "$(log_file "$svc")" "$(log_file "$svc").prev"
  done
fi
