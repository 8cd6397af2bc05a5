#!/usr/bin/env bash
# Starts the local real-service stack on 127.0.0.1: up.sh [all|kafka|registry|mongo|redis|s3|prometheus]
# (all is every service but Prometheus, which starts only when named).
# Installs first (cached), skips services that are already healthy, waits for health.
# Data lives under $STACK_RUN/<service>, logs in $STACK_RUN/<service>.log, pids in $STACK_RUN/<service>.pid.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"

what="${1:-all}"
case "$what" in
  all) targets=("${SERVICES[@]}") ;;
  redis | kafka | registry | postgres | s3) targets=("$what") ;;
  mongo) targets=(postgres mongo) ;;
  prometheus) targets=(prometheus) ;;
  *) echo "usage: up.sh [all|kafka|registry|mongo|postgres|redis|s3|prometheus]" >&2; exit 2 ;;
esac

# Runs "$@" detached: its own session (survives this shell and its process group), cwd
# $STACK_RUN/<service>, output to the service log (the previous one kept as <service>.log.prev),
# and no inherited descriptors besides 0-2, so a caller reading our output through a pipe
# (`up.sh | tee`) is not held open by the services. The launcher shell writes its own pid and
# then execs the service, so the pid file holds the service's pid. The loop's own `2>/dev/null`
# is undone by bash from a saved copy of fd 2 that the loop itself closes, which left every
# service's stderr on /dev/null: stderr is pointed at the log again after it.
LAUNCHER='cd "$1" && echo $$ >"$2" || exit 1
for fd in $(ls /proc/$$/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done 2>/dev/null
exec 2>&1
shift 2; exec "$@"'
launch() {
  local svc=$1; shift
  local logf i; logf=$(log_file "$svc")
  [ -f "$logf" ] && mv -f "$logf" "$logf.prev"
  rm -f "$(pid_file "$svc")"
  setsid bash -c "$LAUNCHER" launcher "$STACK_RUN/$svc" "$(pid_file "$svc")" "$@" >"$logf" 2>&1 </dev/null &
  for i in $(seq 50); do [ -s "$(pid_file "$svc")" ] && return; sleep 0.1; done
}

start_redis() {
  launch redis redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$STACK_RUN/redis" \
    --save "" --appendonly no --daemonize no
}

# PostgreSQL as FerretDB's storage. The server refuses to run as root and cannot reach a data
# directory under /root, so its data lives in $PG_DATA, linked from $STACK_RUN/postgres (the
# link keeps running_pid's "cwd is the run dir" check true). Durability is off: test data only.
start_postgres() {
  if [ ! -L "$STACK_RUN/postgres" ]; then
    rmdir "$STACK_RUN/postgres" 2>/dev/null || true
    ln -s "$PG_DATA" "$STACK_RUN/postgres"
  fi
  mkdir -p "$PG_DATA" && chown postgres "$PG_DATA" && chmod 700 "$PG_DATA"
  if [ ! -f "$PG_DATA/PG_VERSION" ]; then
    setpriv --reuid=postgres --regid=postgres --init-groups "$PG_BIN/initdb" -D "$PG_DATA" -A trust -U postgres >"$(log_file postgres).init" 2>&1
  fi
  launch postgres setpriv --reuid=postgres --regid=postgres --init-groups "$PG_BIN/postgres" -D "$PG_DATA" \
    -p "$PG_PORT" -k /tmp -c listen_addresses=127.0.0.1 -c max_connections="$PG_MAX_CONNECTIONS" \
    -c fsync=off -c synchronous_commit=off -c full_page_writes=off
}

start_mongo() {
  wait_healthy postgres >/dev/null
  "$PG_BIN/psql" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='ferretdb'" | grep -q 1 ||
    "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres ferretdb
  # pool_max_conns: see env.sh. pool_max_conn_idle_time hands idle connections back after a burst.
  launch mongo "$FERRETDB_BIN" --handler=pg \
    --postgresql-url="postgres://postgres@127.0.0.1:$PG_PORT/ferretdb?pool_max_conns=$FERRETDB_PG_POOL&pool_max_conn_idle_time=1m" \
    --listen-addr="127.0.0.1:$MONGO_PORT" --telemetry=disable --debug-addr=- \
    --state-dir="$STACK_RUN/mongo" --log-level=WARN
}

start_kafka() {
  local dir="$STACK_RUN/kafka"
  mkdir -p "$dir/data"
  cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/data
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
group.initial.rebalance.delay.ms=0
EOF
  # Root at WARN; the one INFO line "Kafka Server started" is the readiness marker. The group
  # coordinator at INFO: a rebalance's start, its end and each member that left or expired, the
  # broker's side of a consumer that took long to rejoin.
  cat >"$dir/log4j.properties" <<'EOF'
log4j.rootLogger=WARN, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaRaftServer=INFO
log4j.logger.kafka.coordinator.group.GroupCoordinator=INFO
EOF
  # 1.5 GB: every test run creates its own topic namespace, and partition metadata adds up.
  local java=(java -Xmx1536m -Dlog4j.configuration="file:$dir/log4j.properties" -cp "$KAFKA_LIBS/*")
  # Format the storage once; the data dir survives down.sh (only --wipe resets it).
  if [ ! -f "$dir/data/meta.properties" ]; then
    [ -s "$dir/cluster-id" ] || "${java[@]}" kafka.tools.StorageTool random-uuid >"$dir/cluster-id" || return 1
    "${java[@]}" kafka.tools.StorageTool format -t "$(cat "$dir/cluster-id")" \
      -c "$dir/server.properties" --ignore-formatted >"$dir/format.log" 2>&1 \
      || { cat "$dir/format.log" >&2; return 1; }
  fi
  launch kafka "${java[@]}" kafka.Kafka "$dir/server.properties"
}

start_registry() {
  local jar; jar=$(find "$APICURIO_DIR" -name quarkus-run.jar -print -quit)
  [ -n "$jar" ] || { log "quarkus-run.jar not found under $APICURIO_DIR"; return 1; }
  # In-memory H2 storage (the default): the registry starts empty each time.
  # Deletes are enabled so tests can clean up subjects; per-request access logs are off.
  launch registry "$JAVA21_HOME/bin/java" -Xmx512m \
    -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$REGISTRY_PORT" \
    -Dquarkus.management.host=127.0.0.1 -Dquarkus.management.port="$REGISTRY_MGMT_PORT" \
    -Dquarkus.http.access-log.enabled=false \
    -Dapicurio.storage.snapshot.location="$STACK_RUN/registry" -Dapicurio.import.work-dir="$STACK_RUN/registry" \
    -Dapicurio.rest.deletion.group.enabled=true -Dapicurio.rest.deletion.artifact.enabled=true \
    -Dapicurio.rest.deletion.artifact-version.enabled=true \
    -jar "$jar"
}

# SeaweedFS as the media store: master, volume server, filer and S3 gateway in one process, all
# on loopback, every port from env.sh (no WebDAV, SFTP, message queue, Iceberg or Lance; no
# telemetry). Small volumes, not preallocated, keep its disk and memory modest (up to 100 of
# them: at 16 the media bench's uploads filled it in a few runs and every PUT was refused); data survives
# down.sh (only --wipe resets it). The one identity is written here from env.sh, so a changed
# secret takes effect at the next start.
start_s3() {
  local dir="$STACK_RUN/s3"
  mkdir -p "$dir/data"
  (umask 077 && cat >"$dir/identities.json" <<EOF
{
  "identities": [
    {
      "name": "$S3_ACCESS_KEY_ID",
      "credentials": [{ "accessKey": "$S3_ACCESS_KEY_ID", "secretKey": "$S3_SECRET_ACCESS_KEY" }],
      "actions": ["Admin", "Read", "Write", "List", "Tagging"]
    }
  ]
}
EOF
  )
  launch s3 "$SEAWEEDFS_BIN" -logtostderr server -dir="$dir/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
    -master.port="$SEAWEEDFS_MASTER_PORT" -master.port.grpc="$SEAWEEDFS_MASTER_GRPC_PORT" \
    -volume.port="$SEAWEEDFS_VOLUME_PORT" -volume.port.grpc="$SEAWEEDFS_VOLUME_GRPC_PORT" \
    -filer -filer.port="$SEAWEEDFS_FILER_PORT" -filer.port.grpc="$SEAWEEDFS_FILER_GRPC_PORT" \
    -s3 -s3.port="$S3_PORT" -s3.port.grpc="$S3_GRPC_PORT" -s3.port.iceberg=0 -s3.port.lance=0 \
    -s3.config="$dir/identities.json" \
    -master.telemetry=false -master.volumeSizeLimitMB=64 -volume.max=100 -volume.preStopSeconds=1
}

# Called by wait_healthy while s3 is not healthy: once the gateway takes our signature (a signed
# ListBuckets answers 200), create the bucket; a concurrent creation answers 409, which is fine.
prepare_s3() {
  [ "$(s3_status GET /)" = 200 ] || return 0
  s3_status PUT "/$S3_BUCKET" >/dev/null
}

# Scrapes the processes at their default ports (ops/prometheus/prometheus.yml: the gateway or
# `make run` on 8080, processors on 9464) and evaluates the alerts every second. The TSDB lives
# under the run dir and is kept a day.
start_prometheus() {
  launch prometheus "$PROMETHEUS_BIN" --config.file="$(cd "$here/../prometheus" && pwd)/prometheus.yml" \
    --storage.tsdb.path="$STACK_RUN/prometheus/data" --storage.tsdb.retention.time=1d \
    --web.listen-address="127.0.0.1:$PROMETHEUS_PORT" --log.level=warn
}

timeout_for() { case "$1" in redis) echo 10 ;; postgres) echo 30 ;; mongo) echo 20 ;; kafka) echo 60 ;; registry) echo 90 ;; s3) echo 30 ;; prometheus) echo 20 ;; esac; }

report() { printf '%-10s up at %-45s log %s\n' "$1" "$(address "$1")" "$(log_file "$1")"; }

fail() {
  log "$1 failed to start: $2; last lines of $(log_file "$1"):"
  tail -n 30 "$(log_file "$1")" >&2 2>/dev/null || true
  exit 1
}

# Launches the service unless it is healthy or already starting.
start() {
  local svc=$1
  if healthy "$svc" || running_pid "$svc" >/dev/null; then return; fi
  log "starting $svc"
  mkdir -p "$STACK_RUN/$svc"
  "start_$svc" || fail "$svc" "start command failed"
}

wait_healthy() {
  local svc=$1 limit deadline
  limit=$(timeout_for "$svc")
  deadline=$((SECONDS + limit))
  until healthy "$svc"; do
    running_pid "$svc" >/dev/null || fail "$svc" "process exited"
    if declare -F "prepare_$svc" >/dev/null; then "prepare_$svc"; fi
    [ $SECONDS -lt "$deadline" ] || fail "$svc" "not healthy after ${limit}s"
    sleep 0.5
  done
  report "$svc"
}

"$here/install.sh" "$what"
# Start everything first so the JVMs boot in parallel, then wait for each.
for svc in "${targets[@]}"; do start "$svc"; done
for svc in "${targets[@]}"; do wait_healthy "$svc"; done
