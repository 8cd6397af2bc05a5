import { counter, gauge, histogram } from '../core/metrics.js';

/** The stream runtime's metrics, one set per processor (label `processor`); where a message's time goes is core/stages.ts. */
export const runtimeMetrics = {
  recordsIn: counter('im_processor_records_in_total', 'Records consumed by a processor', ['processor', 'topic']),
  recordsOut: counter('im_processor_records_out_total', 'Records produced by a processor', ['processor', 'topic']),
  latency: histogram('im_processor_batch_record_seconds', 'Time from a batch being consumed to its outputs acknowledged, per record', ['processor']),
  errors: counter('im_processor_errors_total', 'Failed processing attempts (retried or dead-lettered)', ['processor', 'code']),
  deadLetters: counter('im_processor_dlq_total', 'Records sent to the dead-letter topic', ['processor', 'topic']),
  stateEvictions: counter('im_state_evictions_total', 'Keys a bounded store or table forgot: past its retention, or the oldest over its entry limit', ['state', 'reason']),
  lag: gauge('im_consumer_lag', 'Records behind the end of the partition after the last batch', ['group', 'topic', 'partition']),
};
