import type { ClientSpec, WireProtocol } from '../load/messages.js';

/** A server the load generator can drive: the platform's gateway or the Centrifugo peer. */
export interface Target {
  name: 'im' | 'centrifugo';
  protocol: WireProtocol;
  url: string;
  /** The process whose RSS is charged to the connections. */
  serverPid(): number;
  /** Collects the server's garbage before a memory sample, where the server offers a way (null: not offered). */
  collectGarbage: (() => void) | null;
  /** The JS heap's committed but unused bytes over the server's processes, from its metrics (null: not offered). */
  heapFreeBytes: (() => Promise<number | null>) | null;
  clients(userIds: readonly string[]): Promise<ClientSpec[]>;
  /** Makes a group of `members` (plus the owner) exist; the sender then addresses `groupId`. */
  prepareGroup(groupId: string, owner: string, members: readonly string[]): Promise<void>;
  /** Centrifugo clients subscribe to the group's channel at connect; IM needs nothing. */
  subscribeChannel(groupId: string): string | undefined;
}
