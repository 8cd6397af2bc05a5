#!/usr/bin/env bash
# The system libraries `npm ci` needs to build @confluentinc/kafka-javascript's native part
# (librdkafka from its bundled sources, linked against the system's zlib, OpenSSL, zstd and
# SASL: CKJS_LINKING=dynamic, exported by the Makefile). Without them its build tries to
# download those libraries' sources. Idempotent and silent when everything is there.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/env.sh"

wanted=(libssl-dev zlib1g-dev libzstd-dev libsasl2-dev)
# node-gyp's toolchain, looked up as commands: python3 may come from elsewhere than Debian.
command -v g++ >/dev/null 2>&1 || wanted+=(g++)
command -v make >/dev/null 2>&1 || wanted+=(make)
command -v python3 >/dev/null 2>&1 || wanted+=(python3)

missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

# The package is an optional dependency: without apt, npm skips it and the platform runs on kafkajs.
if ! command -v apt-get >/dev/null 2>&1; then
  log "no apt-get: install ${missing[*]} yourself, or @confluentinc/kafka-javascript will not build"
  exit 0
fi
log "installing ${missing[*]} (Debian packages) for @confluentinc/kafka-javascript's native build"
apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
