import type { MentionNotice, StampedMessage } from '../../schemas/types.generated.js';
import type { ProcessorBuilder, Rec } from '../../streams/index.js';

/**
 * An example of extending the pipeline, for data engineers: a processor that turns every
 * @mention in a stamped message into a `MentionNotice` keyed by the mentioned user, e.g. for
 * a "mentions" inbox or an e-mail digest. To add one like it:
 *   1. a schema in schemas/avro/ and its topic in schemas/topics.json, then `make schemas`;
 *   2. a processor file like this one (sources, operators, sinks: no engine code);
 *   3. a test on the topology test driver (mentions.test.ts): records in, records out, no broker;
 *   4. one entry in PROCESSORS (topologies/im-topology.ts) and its name in its group's Deployment
 *      (ops/k8s/processors.yaml); `make topology` shows it in the graph.
 */
export function mentionsProcessor(options: { previewChars: number } = { previewChars: 80 }) {
  return (p: ProcessorBuilder): void => {
    p.stream('im.msg.stamped')
      .filter((r) => r.value.mentions.length > 0, 'has-mentions')
      .flatMap((r) => toNotices(r, options.previewChars), 'one-per-mention')
      .to('im.example.mentions');
  };
}

function toNotices(r: Rec<StampedMessage>, previewChars: number): Rec<MentionNotice>[] {
  const m = r.value;
  return [...new Set(m.mentions)]
    .filter((user) => user !== m.sender)
    .map((user) => ({
      key: user,
      headers: r.headers,
      timestamp: r.timestamp,
      value: { userId: user, messageId: m.messageId, conversationId: m.conversationId, seq: m.seq, sender: m.sender, preview: m.content.slice(0, previewChars), at: m.stampedAt },
    }));
}
