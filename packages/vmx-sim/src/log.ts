/**
 * The log of every backdoor call the host served: command, subcommand, registers in and out,
 * bytes moved. Tests count calls per operation and compare sequences with real peers'.
 */
import type { Registers } from '@vmw9/backdoor';

export type CallOp = 'lb' | 'hbout' | 'hbin';

export interface CallRecord {
  seq: number;
  /** ms since the host started. */
  t: number;
  /** The caller's pid/tid as the transport reported it (0 in-process). */
  pid: number;
  op: CallOp;
  /** ecx.lo for LB; for HB the GuestMsg command (30). */
  cmd: number;
  /** ecx.hi for LB (e.g. the GuestMsg message type). */
  sub: number;
  /** `GETVERSION`, `MESSAGE.SENDSIZE`, `HB.OUT`, … */
  name: string;
  /** GuestMsg channel id, when the call was on one. */
  channel?: number;
  in: Registers;
  out: Registers;
  /** Payload bytes moved by this call (HB count, or up to 4 for a 4-byte step). */
  bytes: number;
  /** A fault the host injected or answered with (`cpt`, `restricted`, `garbage`, …). */
  fault?: string;
}

/** A point in the log to count from: its sequence number and the running counts then. */
export interface LogMark {
  seq: number;
  counts: Readonly<Record<string, number>>;
}

export class CallLog {
  private records: CallRecord[] = [];
  private seq = 0;
  private readonly start = Date.now();
  /** Running counts per call name since the start: exact even after old records are dropped. */
  private readonly totals: Record<string, number> = {};

  constructor(
    /** Records kept; older ones are dropped (in chunks, so adding stays O(1) amortised). */
    readonly limit = 200_000,
  ) {}

  add(r: Omit<CallRecord, 'seq' | 't'>): CallRecord {
    const rec = { ...r, seq: ++this.seq, t: Date.now() - this.start };
    this.records.push(rec);
    this.totals[r.name] = (this.totals[r.name] ?? 0) + 1;
    if (this.records.length > this.limit + (this.limit >> 3))
      this.records.splice(0, this.records.length - this.limit);
    return rec;
  }

  /** Records kept, optionally only those after a mark. */
  entries(since?: LogMark): readonly CallRecord[] {
    return since ? this.records.filter((r) => r.seq > since.seq) : this.records;
  }

  /** A mark to count from. */
  mark(): LogMark {
    return { seq: this.seq, counts: { ...this.totals } };
  }

  clear(): void {
    this.records = [];
  }

  /** Calls per name (since a mark), e.g. { 'MESSAGE.SENDSIZE': 2, 'HB.OUT': 1 }. Exact however long the run. */
  counts(since?: LogMark): Record<string, number> {
    const c: Record<string, number> = {};
    for (const [k, v] of Object.entries(this.totals)) {
      const n = v - (since?.counts[k] ?? 0);
      if (n > 0) c[k] = n;
    }
    return c;
  }

  /** Total calls (since a mark). */
  total(since?: LogMark): number {
    return this.seq - (since?.seq ?? 0);
  }
}
