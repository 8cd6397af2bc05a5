#!/usr/bin/env bash
# Stops what up.sh started, by pid file: SIGTERM to all, wait up to 30 s, then SIGKILL. Idempotent.
# down.sh --wipe also deletes the run data (Kafka log dir and cluster id, FerretDB files, SeaweedFS volumes, logs).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"

wipe=false
case "${1:-}" in
  "") ;;
  --wipe) wipe=true ;;
  *) echo "usage: down.sh [--wipe]" >&2; exit 2 ;;
esac

declare -A pids=()
for svc in "${SERVICES[@]}" "${OPTIONAL_SERVICES[@]}"; do
  if pid=$(running_pid "$svc"); then
    log "stopping $svc (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    pids[$svc]=$pid
  fi
done

alive() { kill -0 "${pids[$1]}" 2>/dev/null; }

# Kafka's controlled shutdown and the JVMs take a few seconds.
for _ in $(seq 150); do
  for svc in "${!pids[@]}"; do alive "$svc" || unset "pids[$svc]"; done
  [ ${#pids[@]} -eq 0 ] && break
  sleep 0.2
done
for svc in "${!pids[@]}"; do
  log "$svc did not exit after SIGTERM, sending SIGKILL"
  kill -KILL "${pids[$svc]}" 2>/dev/null || true
done
for svc in "${SERVICES[@]}" "${OPTIONAL_SERVICES[@]}"; do rm -f "$(pid_file "$svc")"; done

if $wipe; then
  log "wiping the run data under $STACK_RUN"
  for svc in "${SERVICES[@]}" "${OPTIONAL_SERVICES[@]}"; do
    rm -rf "${STACK_RUN:?}/$svc" "$(log_file "$svc")" "$(log_file "$svc").prev"
  done
  rm -rf "${PG_DATA:?}"
fi
