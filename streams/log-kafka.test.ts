import { loadConfig } from '../core/config.js';
import { afterAll, describe } from 'vitest';
import { groupAssignmentCases } from './kafka-group.cases.js';
import { logContractCases } from './log-contract.cases.js';
import { KafkaLog } from './log-kafka.js';

const { brokers } = loadConfig({ ...process.env, IM_ENGINE: 'kafka' }).kafka;
logContractCases('kafkajs', async () => new KafkaLog({ brokers, clientId: 'im-log-contract' }));

describe('kafkajs log', () => {
  const log = new KafkaLog({ brokers, clientId: 'im-log-kafkajs' });
  afterAll(() => log.close());
  groupAssignmentCases(() => log);
});
