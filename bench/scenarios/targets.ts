import type { ClientSpec, WireProtocol } from '../load/messages.js';

/** A server the load generator can drive: the platform's gateway or the Centrifugo peer. */
export interface Target {
  name: 'im' | 'centrifugo' | 'uws-bare';
  protocol: WireProtocol;
  url: string;
  /** The process whose RSS is charged to the connections. */
  serverPid(): number;
  /** Collects the server's garbage before a memory sample, where the server offers a way (null: not offered). */
  collectGarbage: (() => void) | null;
  /** The JS heap and external memory summed over the server's processes, from its metrics (null: not offered). */
  heap: (() => Promise<HeapBytes | null>) | null;
  clients(userIds: readonly string[]): Promise<ClientSpec[]>;
  /** Makes a group of `members` (plus the owner) exist; the sender then addresses `groupId`. */
  prepareGroup(groupId: string, owner: string, members: readonly string[]): Promise<void>;
  /** Centrifugo clients subscribe to the group's channel at connect; IM needs nothing. */
  subscribeChannel(groupId: string): string | undefined;
}

/** A server's JS memory as V8 and Node count it (`process.memoryUsage()`, or the same on /metrics). */
export interface HeapBytes {
  /** The heap's committed size, and what of it is live (after a full collection, when one was asked for). */
  committed: number;
  used: number;
  /** C++ objects bound to JS: Buffers and ArrayBuffers, and a native module's own reports. */
  external: number;
  /** glibc's bytes in use (mallinfo2), where the server reports them (the bare uWS process). */
  mallocInUse?: number;
}
