/**
 * What an agent tells the tree, typed (the tree only listens). Each event is a fact about the
 * host link; the tree decides what it means for its files (`events` lines, `wctl`, `power`).
 * The `events` line each one becomes is documented in docs/protocol/tree.md.
 */
import type { PowerStateName } from '@vmw9/rpc';

export type HostEvent =
  /** The host reset the TCLO channel and the agent registered again. */
  | { type: 'reset' }
  /** Capabilities_Register was answered. */
  | { type: 'capabilities' }
  /** The host set an option (Set_Option NAME VALUE). */
  | { type: 'option'; name: string; value: string }
  /** The host asks for a display size (Resolution_Set W H). */
  | { type: 'resolution'; width: number; height: number }
  /** The host asks for a power operation; `outcome` is absent while it runs. */
  | { type: 'power'; state: PowerStateName; outcome?: 'done' | 'failed' }
  /** A service's own announcement: one line for `events`, no newline. */
  | { type: 'note'; line: string }
  /** The host sent a TCLO command on an app channel and the agent answered it (`ok`: `OK …`). Counted, not announced. */
  | { type: 'command'; app: string; command: string; ok: boolean };

export type HostEventListener = (event: HostEvent) => void;

/** Where the tree subscribes; the returned function unsubscribes. */
export interface HostEventSource {
  subscribe(listener: HostEventListener): () => void;
}

/** A minimal synchronous hub an agent can own and publish to. */
export class HostEventHub implements HostEventSource {
  private readonly listeners = new Set<HostEventListener>();

  subscribe(listener: HostEventListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  publish(event: HostEvent): void {
    for (const l of [...this.listeners]) l(event);
  }

  get size(): number {
    return this.listeners.size;
  }
}

/** The `events` line for an event (without the newline); null for an event that is only counted. */
export function eventLine(e: HostEvent): string | null {
  switch (e.type) {
    case 'command':
      return null;
    case 'reset':
    case 'capabilities':
      return e.type;
    case 'option':
      return `option ${e.name} ${e.value}`;
    case 'resolution':
      return `resolution ${e.width} ${e.height}`;
    case 'power':
      return e.outcome ? `power ${e.state} ${e.outcome}` : `power ${e.state}`;
    case 'note':
      return e.line;
  }
}
