/**
 * The tree's diagnostics: `log` (append-only; each line goes to the host's log), `kmesg` (the
 * agent's recent messages) and `stats` (the counters; any write resets them).
 */
import { type RpcSender, log as rpcLog } from '@vmw9/rpc';
import { DMAPPEND, type FidContext, File } from 'ninep';
import { hostError } from './errors.js';
import { statsLine } from './format.js';
import type { Counters } from './stats.js';
import { SnapshotFile } from './text.js';

/** The host takes 64 KiB per message; a longer line goes in pieces of this many characters. */
const LOG_PIECE = 4000;

export class LogFile extends File {
  constructor(
    private readonly rpc: RpcSender,
    private readonly counters: Counters,
  ) {
    super('log', (DMAPPEND | 0o222) >>> 0);
  }

  override async write(_fid: FidContext, _offset: number, data: Uint8Array): Promise<number> {
    for (const line of Buffer.from(data).toString('utf8').split('\n')) {
      if (!line) continue;
      for (let i = 0; i < line.length; i += LOG_PIECE) {
        this.counters.add('rpciRequests');
        try {
          await rpcLog(this.rpc, line.slice(i, i + LOG_PIECE));
        } catch (e) {
          this.counters.add('rpciErrors');
          throw hostError(e);
        }
      }
    }
    return data.length;
  }
}

export class KmesgFile extends SnapshotFile {
  constructor(private readonly recent: (() => string) | undefined) {
    super('kmesg', 0o444);
  }
  protected override snapshot(): string {
    return this.recent?.() ?? '';
  }
}

export class StatsFile extends SnapshotFile {
  constructor(private readonly counters: Counters) {
    super('stats', 0o664);
  }
  protected override snapshot(): string {
    return statsLine(this.counters.fields());
  }
  override write(_fid: FidContext, _offset: number, data: Uint8Array): number {
    this.counters.reset();
    return data.length;
  }
}
