import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { recordingLogger, type LogLine } from '../core/testing.js';
import { withLoggedEvents } from './log-platformatic.js';

/** A broker outage is said once when it starts and once when it ends, not per reconnect attempt. */
describe('withLoggedEvents', () => {
  it('logs a lost broker once however often the client retries it, and its return once', () => {
    const lines: LogLine[] = [];
    const client = withLoggedEvents(new EventEmitter(), 'admin', recordingLogger(lines));
    const a = { broker: { host: '127.0.0.1', port: 9092 } };
    const b = { broker: { host: '127.0.0.1', port: 9093 } };
    for (let i = 0; i < 40; i++) client.emit('client:broker:failed', a);
    client.emit('client:broker:failed', b);
    client.emit('client:broker:connect', a);
    client.emit('client:broker:connect', a);
    client.emit('client:broker:failed', a);
    expect(lines.map((l) => [l.msg, l.fields?.broker])).toEqual([
      ['kafka broker connection failed', '127.0.0.1:9092'],
      ['kafka broker connection failed', '127.0.0.1:9093'],
      ['kafka broker connected again', '127.0.0.1:9092'],
      ['kafka broker connection failed', '127.0.0.1:9092'],
    ]);
  });
});
