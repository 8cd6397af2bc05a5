import { describe, expect, it } from 'vitest';
import { partitionFor } from './partitioner.js';

/**
 * Kafka's default partitioner's choice (murmur2 of the UTF-8 key, positive, modulo the count) for
 * each key at 1, 3, 6, 12 and 64 partitions, computed once with kafkajs's DefaultPartitioner (the
 * Java client's function). The keys cover every tail length of murmur2's 4-byte blocks and
 * multi-byte characters.
 */
const PARTITION_COUNTS = [1, 3, 6, 12, 64];
const KAFKA_DEFAULT_PARTITIONS: [key: string, partitions: number[]][] = [
  ["", [0, 0, 3, 9, 25]],
  ["a", [0, 1, 4, 4, 60]],
  ["ab", [0, 2, 2, 2, 42]],
  ["abc", [0, 0, 3, 3, 27]],
  ["abcd", [0, 2, 2, 8, 52]],
  ["abcde", [0, 1, 1, 1, 29]],
  ["k0", [0, 2, 5, 5, 1]],
  ["g:42", [0, 2, 5, 5, 5]],
  ["u:alice", [0, 1, 1, 7, 19]],
  ["d:user3:user10", [0, 0, 0, 0, 44]],
  ["d:user999:user1006", [0, 0, 0, 6, 6]],
  ["conversation-1234567890", [0, 0, 3, 3, 27]],
  ["用户-2-ü", [0, 1, 4, 4, 20]],
  ["ü", [0, 2, 2, 2, 26]],
  ["😀 emoji key", [0, 0, 3, 3, 15]],
  ["im.state.members#7", [0, 0, 0, 6, 6]],
];

describe('partitioner', () => {
  it('places keys exactly as Kafka’s default (Java-compatible) partitioner does', () => {
    for (const [key, expected] of KAFKA_DEFAULT_PARTITIONS) {
      expect(PARTITION_COUNTS.map((n) => partitionFor(key, n)), key).toEqual(expected);
    }
  });

  it('spreads records without a key over all partitions', () => {
    const seen = new Set(Array.from({ length: 12 }, () => partitionFor(null, 4)));
    expect(seen.size).toBe(4);
  });
});
