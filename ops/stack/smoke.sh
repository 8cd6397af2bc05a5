#!/usr/bin/env bash
# Proves the running stack works end to end with each service's own client:
# Kafka (create a topic, produce and consume one record, delete it), the registry (register and
# delete an Avro subject), Redis (SET/GET), FerretDB (insert/find/drop through the repo's
# `mongodb` driver when node_modules is installed, else only its TCP port), SeaweedFS (a signed
# PUT, GET and DELETE of one object in the media bucket, with curl's SigV4).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"

kafka() { java -Dlog4j.configuration="file:$STACK_RUN/kafka/log4j.properties" -cp "$KAFKA_LIBS/*" "$@"; }
bootstrap="127.0.0.1:$KAFKA_PORT"
topic="stack-smoke-$$"
value="hello-$(date +%s)"

kafka org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" --create --topic "$topic" \
  --partitions 1 --replication-factor 1 >/dev/null
echo "$value" | kafka kafka.tools.ConsoleProducer --bootstrap-server "$bootstrap" --topic "$topic"
got=$(kafka org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$bootstrap" --topic "$topic" \
  --from-beginning --max-messages 1 --timeout-ms 20000 2>/dev/null)
kafka org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" --delete --topic "$topic"
[ "$got" = "$value" ] || { log "kafka: consumed '$got', expected '$value'"; exit 1; }
log "kafka ok (topic created, record produced and consumed, topic deleted)"

reg="http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7"
subject="stack-smoke-$$-value"
schema='{"schema":"{\"type\":\"record\",\"name\":\"Smoke\",\"fields\":[{\"name\":\"a\",\"type\":\"string\"}]}"}'
curl -sf -X POST -H 'Content-Type: application/vnd.schemaregistry.v1+json' -d "$schema" \
  "$reg/subjects/$subject/versions" | grep -q '"id"'
curl -sf -X DELETE "$reg/subjects/$subject" >/dev/null
curl -sf -X DELETE "$reg/subjects/$subject?permanent=true" >/dev/null
log "registry ok (subject registered and deleted)"

[ "$(redis-cli -p "$REDIS_PORT" SET stack-smoke "$value" EX 10)" = OK ]
[ "$(redis-cli -p "$REDIS_PORT" GET stack-smoke)" = "$value" ]
log "redis ok (SET/GET)"

port_open "$MONGO_PORT" || { log "mongo: port $MONGO_PORT closed"; exit 1; }
repo="$(cd "$here/../.." && pwd)"
if [ -d "$repo/node_modules/mongodb" ]; then
  (cd "$repo" && MONGO_URL="mongodb://127.0.0.1:$MONGO_PORT" node -e '
    const { MongoClient } = require("mongodb");
    (async () => {
      const client = await MongoClient.connect(process.env.MONGO_URL, { serverSelectionTimeoutMS: 5000 });
      const c = client.db("stack_smoke").collection("smoke");
      await c.insertOne({ _id: 1, v: "ok" });
      const doc = await c.findOne({ _id: 1 });
      await client.db("stack_smoke").dropDatabase();
      await client.close();
      if (doc?.v !== "ok") throw new Error("read back " + JSON.stringify(doc));
    })().catch((e) => { console.error(e); process.exit(1); });')
  log "mongo ok (insert/find/drop)"
else
  log "mongo ok (port open; no node_modules/mongodb for a real round trip)"
fi

object="/$S3_BUCKET/stack-smoke-$$"
# curl's SigV4 signs an x-amz-content-sha256 header only when given one, and S3 wants it for a body.
# A fresh store's first write grows its volumes first (about 8 s here): a longer timeout.
sha=$(printf '%s' "$value" | sha256sum | cut -d' ' -f1)
[ "$(s3_status PUT "$object" -H 'Content-Type: text/plain' -H "x-amz-content-sha256: $sha" \
  --data-binary "$value" --max-time 30)" = 200 ]
got=$(curl -sf --max-time 3 --aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$S3_ACCESS_KEY_ID:$S3_SECRET_ACCESS_KEY" \
  "http://127.0.0.1:$S3_PORT$object")
[ "$(s3_status DELETE "$object")" = 204 ]
[ "$got" = "$value" ] || { log "s3: read back '$got', expected '$value'"; exit 1; }
log "s3 ok (object put, read back and deleted)"
