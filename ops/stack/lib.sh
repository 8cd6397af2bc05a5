# Helpers shared by up.sh, down.sh and status.sh (sourced, not run).
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

SERVICES=(redis postgres mongo kafka registry s3)
# Started only when asked for (up.sh prometheus): tests and fault runs start their own, with their
# own targets; down.sh stops it with the rest.
OPTIONAL_SERVICES=(prometheus)

pid_file() { echo "$STACK_RUN/$1.pid"; }
log_file() { echo "$STACK_RUN/$1.log"; }

# Prints the pid from the service's pid file when that process is alive and is ours: up.sh
# starts every service in $STACK_RUN/<service>, so a recycled pid (other cwd) is never taken.
running_pid() {
  local pid cwd
  pid=$(cat "$(pid_file "$1")" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  # A reused pid belongs to a process elsewhere. A cwd that cannot be read is the launcher's
  # own moment in exec: taken for "exited", it failed a broker restart in the faults bench.
  cwd=$(readlink -f "/proc/$pid/cwd" 2>/dev/null) || true
  [ -z "$cwd" ] || [ "$cwd" = "$(readlink -f "$STACK_RUN/$1")" ] || return 1
  echo "$pid"
}

address() {
  case "$1" in
    redis) echo "redis://127.0.0.1:$REDIS_PORT" ;;
    postgres) echo "postgres://postgres@127.0.0.1:$PG_PORT/ferretdb" ;;
    mongo) echo "mongodb://127.0.0.1:$MONGO_PORT" ;;
    kafka) echo "127.0.0.1:$KAFKA_PORT" ;;
    registry) echo "http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7" ;;
    prometheus) echo "http://127.0.0.1:$PROMETHEUS_PORT" ;;
    s3) echo "http://127.0.0.1:$S3_PORT/$S3_BUCKET" ;;
  esac
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# One request to the S3 gateway signed with the platform's identity (curl's SigV4); prints the
# HTTP status. s3_status METHOD PATH [curl args...] (a later --max-time wins). HEAD goes as -I:
# with -X HEAD curl would wait for a body until --max-time.
s3_status() {
  local method=(-X "$1") path=$2; shift 2
  [ "${method[1]}" = HEAD ] && method=(-I)
  curl -s -o /dev/null -w '%{http_code}' --max-time 3 "${method[@]}" "$@" \
    --aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$S3_ACCESS_KEY_ID:$S3_SECRET_ACCESS_KEY" \
    "http://127.0.0.1:$S3_PORT$path"
}

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
    # The gateway accepts our signature and the bucket is there (an open port says neither).
    s3) [ "$(s3_status HEAD "/$S3_BUCKET")" = 200 ] ;;
  esac
}
