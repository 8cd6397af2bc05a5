/**
 * Where the runtime and its processors read the time for a decision: rate limits, windows,
 * timeouts, the timestamps they stamp. The wall clock in production; the test driver's clock,
 * which only moves when a test says so, under `TopologyTestDriver`.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const wallClock: Clock = { now: () => Date.now() };
