/**
 * The integers a client frame may carry where the pipeline stores them in Avro records: a
 * number outside these would pass the JSON checks and then fail serialization downstream,
 * where the client gets no answer. The gateway and the router refuse them as MALFORMED_FRAME.
 */

/**
 * avsc encodes a `long` from a JS number only within ±(2^53 − 2): it keeps one off each bound
 * of the safe-integer range for rounding, so 2^53 − 1 is refused there too.
 */
export const AVRO_LONG_MAX = Number.MAX_SAFE_INTEGER - 1;
/** Avro `int`: 32-bit signed. */
export const AVRO_INT_MAX = 2 ** 31 - 1;

/** An integer in [min, AVRO_LONG_MAX]: what an Avro `long` field of a frame accepts. */
export function isLongField(v: unknown, min = 0): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= AVRO_LONG_MAX;
}

/** An integer in [min, AVRO_INT_MAX]: what an Avro `int` field of a frame accepts. */
export function isIntField(v: unknown, min = 0): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= AVRO_INT_MAX;
}
