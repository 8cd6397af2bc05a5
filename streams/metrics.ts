import { counter, gauge, histogram } from '../core/metrics.js';

/** The stream runtime's metrics, one set per processor (label `processor`). */
export const runtimeMetrics = {
  recordsIn: counter('im_processor_records_in_total', 'Records consumed by a processor', ['processor', 'topic']),
  recordsOut: counter('im_processor_records_out_total', 'Records produced by a processor', ['processor', 'topic']),
  latency: histogram('im_processor_batch_record_seconds', 'Time from a batch being consumed to its outputs acknowledged, per record', ['processor']),
  errors: counter('im_processor_errors_total', 'Failed processing attempts (retried or dead-lettered)', ['processor', 'code']),
  deadLetters: counter('im_processor_dlq_total', 'Records sent to the dead-letter topic', ['processor', 'topic']),
  /** Where the time of one message goes: stage `<processor>:in` when a processor gets it, `<task>:acked` once its outputs are durable, `<processor>:done` after an inlined effect. */
  stage: histogram('im_stage_seconds', 'Time since the gateway accepted the frame, at each stage of its path', ['stage']),
  lag: gauge('im_consumer_lag', 'Records behind the end of the partition after the last batch', ['group', 'topic', 'partition']),
};
