import type { MongoClient } from 'mongodb';
import { counter, histogram } from '../../core/metrics.js';

const commandSeconds = histogram('im_mongo_command_seconds', 'MongoDB command round trips, by command', ['command'] as const);
const commandFailures = counter('im_mongo_command_failures_total', 'MongoDB commands that failed, by command', ['command'] as const);

/**
 * MongoDB call latency and errors from the driver's command monitoring, for every store on
 * this client at once. The client must be created with `monitorCommands: true`.
 */
export function instrumentMongo(client: MongoClient): void {
  client.on('commandSucceeded', (e) => commandSeconds.observe({ command: e.commandName }, e.duration / 1000));
  client.on('commandFailed', (e) => {
    commandSeconds.observe({ command: e.commandName }, e.duration / 1000);
    commandFailures.inc({ command: e.commandName });
  });
}
