# Helpers shared by up.sh, down.sh and status.sh (sourced, not run).
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

SERVICES=(redis postgres mongo kafka registry)
# Started only when asked for (up.sh prometheus): tests and fault runs start their own, with their
# own targets; down.sh stops it with the rest.
OPTIONAL_SERVICES=(prometheus)

pid_file() { echo "$STACK_RUN/$1.pid"; }
log_file() { echo "$STACK_RUN/$1.log"; }

# Prints the pid from the service's pid file when that process is alive and is ours: up.sh
# starts every service in $STACK_RUN/<service>, so a recycled pid (other cwd) is never taken.
running_pid() {
  local pid
  pid=$(cat "$(pid_file "$1")" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  [ "$(readlink -f "/proc/$pid/cwd")" = "$(readlink -f "$STACK_RUN/$1")" ] && echo "$pid"
}

address() {
  case "$1" in
    redis) echo "redis://127.0.0.1:$REDIS_PORT" ;;
    postgres) echo "postgres://postgres@127.0.0.1:$PG_PORT/ferretdb" ;;
    mongo) echo "mongodb://127.0.0.1:$MONGO_PORT" ;;
    kafka) echo "127.0.0.1:$KAFKA_PORT" ;;
    registry) echo "http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7" ;;
    prometheus) echo "http://127.0.0.1:$PROMETHEUS_PORT" ;;
  esac
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Cheap checks only (no JVM start): status.sh runs them all on every call.
healthy() {
  case "$1" in
    redis) [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ] ;;
    # FerretDB answers only once its PostgreSQL does; a TCP check alone would miss a hang.
    postgres) "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" ;;
    mongo) port_open "$MONGO_PORT" ;;
    # The log is rotated at each start, so the marker line belongs to the running broker.
    kafka) port_open "$KAFKA_PORT" && grep -q 'Kafka Server started' "$(log_file kafka)" 2>/dev/null ;;
    registry) [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 \
      "http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7/subjects")" = 200 ] ;;
    # Ready: TSDB open, rules loaded.
    prometheus) curl -sf -o /dev/null --max-time 3 "http://127.0.0.1:$PROMETHEUS_PORT/-/ready" ;;
  esac
}
