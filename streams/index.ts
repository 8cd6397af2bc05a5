/**
 * The stream runtime's one face. A library below the application: it knows the Avro topic
 * catalogue (`schemas/`) and the shared core, never the processors, the edge or the connectors.
 *
 * - declare: `Topology`, `KStream`, `Rec`, `Emit` (topology.ts)
 * - plan and run: `planTopology`, `StreamsApp` (plan.ts, streams-app.ts, sub-topology-runner.ts)
 * - logs: the `LogClient` contract (log.ts), Kafka on the chosen client (kafka-clients.ts; kafkajs
 *   in log-kafka.ts), in memory (log-memory.ts), a topic namespace over either (log-namespace.ts),
 *   Kafka's partitioner (partitioner.ts)
 * - state: tables and stores (table.ts), all of an app's read on one consumer (table-reader.ts),
 *   tables folded by `groupByKey`, applied once per record
 *   (aggregate.ts); describe (describe.ts); metrics (metrics.ts)
 * - time: the `Clock` every processor and the runtime read (clock.ts), the wall clock by default
 * Tests drive it through `streams/testing.ts`: processor logic on `TopologyTestDriver`
 * (test-driver.ts), what needs a real log on both engines.
 */
export * from './topology.js';
export * from './clock.js';
export * from './plan.js';
export * from './streams-app.js';
export { DLQ_TOPIC, type RunnerConfig } from './sub-topology-runner.js';
export * from './describe.js';
export * from './log.js';
export * from './log-kafka.js';
export * from './kafka-clients.js';
export * from './log-memory.js';
export * from './log-namespace.js';
export * from './partitioner.js';
export * from './table.js';
export { runtimeMetrics } from './metrics.js';
export * from './group-progress.js';
