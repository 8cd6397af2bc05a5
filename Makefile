# The platform's entry points. `make run` needs nothing but Node; `make test` installs and
# starts the real stack (Kafka, schema registry, FerretDB, Redis, SeaweedFS) and runs the whole suite.
SHELL := /bin/bash
NPM_STAMP := node_modules/.install-stamp
export IM_REDIS_URL_TEST ?= redis://127.0.0.1:6379
export IM_MONGO_URL_TEST ?= mongodb://127.0.0.1:27017
export IM_S3_ENDPOINT_TEST ?= http://127.0.0.1:8333

.PHONY: help install run up down status prometheus provision test test-unit typecheck schemas topology bench clean

help:
	@echo "make run        the whole platform in one process (embedded in-memory engine)"
	@echo "make test       install + start the real stack, provision, run the whole suite"
	@echo "make up|down|status   the local real stack (ops/stack)"
	@echo "make prometheus the stack's Prometheus on :9090 (alerts.yml, scraping :8080 and :9464)"
	@echo "make provision  topics and schemas on the real stack"
	@echo "make topology   print the topology and write docs/topology.mmd"
	@echo "make bench      benchmarks, results under bench/results/"

# @confluentinc/kafka-javascript builds librdkafka from its bundled sources (no prebuilt binary
# can be downloaded here), linked against the system libraries system-packages.sh installs.
$(NPM_STAMP): package.json package-lock.json
	bash ops/stack/system-packages.sh
	CKJS_LINKING=dynamic npm ci --no-audit --no-fund
	@touch $@

install: $(NPM_STAMP)

# Node itself, not npx/tsx: make forwards SIGTERM to its child only, and npx's shell would not
# pass it on (the server kept running after make was gone).
run: install
	node --import tsx ops/bin/run.ts

up:
	bash ops/stack/up.sh

down:
	bash ops/stack/down.sh

status:
	bash ops/stack/status.sh

# Not part of `up`: tests start their own Prometheus against the processes they start.
prometheus:
	bash ops/stack/up.sh prometheus

provision: install up
	npx tsx ops/bin/provision.ts

typecheck: install
	npx tsc -p tsconfig.json
	npx tsx schemas/codegen.ts --check

schemas: install
	npx tsx schemas/codegen.ts

test: install up provision typecheck
	npx tsx ops/bin/clean-test-topics.ts
	npx vitest run

topology: install
	npx tsx ops/bin/topology.ts

bench: install up provision
	node --import tsx bench/run.ts $(ARGS)
