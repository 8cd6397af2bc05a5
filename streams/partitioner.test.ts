import { Partitioners } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { partitionFor } from './partitioner.js';

describe('partitioner', () => {
  it('places keys exactly as Kafka’s default (Java-compatible) partitioner does', () => {
    const kafkaDefault = Partitioners.DefaultPartitioner();
    for (const partitions of [1, 3, 6, 12]) {
      const metadata = Array.from({ length: partitions }, (_, i) => ({ partitionId: i, leader: 1, partitionErrorCode: 0, replicas: [1], isr: [1] }));
      for (let i = 0; i < 500; i++) {
        const key = i % 3 === 0 ? `d:user${i}:user${i + 7}` : i % 3 === 1 ? `g:${i}` : `用户-${i}-ü`;
        expect(partitionFor(key, partitions)).toBe(kafkaDefault({ topic: 't', partitionMetadata: metadata, message: { key, value: null } }));
      }
    }
  });

  it('spreads records without a key over all partitions', () => {
    const seen = new Set(Array.from({ length: 12 }, () => partitionFor(null, 4)));
    expect(seen.size).toBe(4);
  });
});
