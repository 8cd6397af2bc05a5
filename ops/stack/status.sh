#!/usr/bin/env bash
# One line per service: up/down, address, pid, log. Exit 0 when all are up (an optional one may
# be off), 1 otherwise.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"

rc=0
for svc in "${SERVICES[@]}" "${OPTIONAL_SERVICES[@]}"; do
  pid=$(running_pid "$svc") || pid=-
  optional=false
  [[ " ${OPTIONAL_SERVICES[*]} " == *" $svc "* ]] && optional=true
  if healthy "$svc"; then state=up
  elif [ "$pid" != - ]; then state=starting; rc=1
  elif $optional; then state=off
  else state=down; rc=1; fi
  printf '%-10s %-8s %-45s pid %-7s log %s\n' "$svc" "$state" "$(address "$svc")" "$pid" "$(log_file "$svc")"
done
exit $rc
