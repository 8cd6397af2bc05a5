import { loadConfig } from '../core/config.js';
import { afterAll, describe } from 'vitest';
import { gatheringFetchCases, groupAssignmentCases } from './kafka-group.cases.js';
import { logContractCases } from './log-contract.cases.js';
import { KafkaLog } from './log-kafka.js';

const { brokers } = loadConfig({ ...process.env, IM_ENGINE: 'kafka' }).kafka;
logContractCases('kafkajs', async () => new KafkaLog({ brokers, clientId: 'im-log-contract' }));

describe('kafkajs log', () => {
  const log = new KafkaLog({ brokers, clientId: 'im-log-kafkajs' });
  afterAll(() => log.close());
  groupAssignmentCases(() => log);
});

/** The storage group's fetch setting (ops/k8s/processors.yaml): a fetch waits for 64 KiB or 250 ms. */
describe('kafkajs log, gathering fetches', () => {
  const tuning = { fetchMinBytes: 65_536, fetchMaxWaitMs: 250 };
  const log = new KafkaLog({ brokers, clientId: 'im-log-kafkajs-gathering', tuning });
  afterAll(() => log.close());
  gatheringFetchCases(() => log, tuning);
});
