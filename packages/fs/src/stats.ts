/** The counters behind `stats` (docs/protocol/tree.md §11), and the port wrapper that feeds two of them. */
import { type BackdoorPort, exclusive } from '@vmw9/backdoor';

/** The fields, in their documented order. */
export const STAT_FIELDS = [
  'backdoorCalls',
  'backdoorErrors',
  'rpciRequests',
  'rpciErrors',
  'tcloCommands',
  'snarfReads',
  'snarfWrites',
  'pointerEvents',
  'connections',
  'requests',
] as const;
export type StatField = (typeof STAT_FIELDS)[number];

export class Counters {
  private readonly values = new Map<StatField, number>();
  add(f: StatField, n = 1): void {
    this.values.set(f, (this.values.get(f) ?? 0) + n);
  }
  get(f: StatField): number {
    return this.values.get(f) ?? 0;
  }
  reset(): void {
    this.values.clear();
  }
  fields(): number[] {
    return STAT_FIELDS.map((f) => this.get(f));
  }
}

/** The `stats` line read back: each field by name (a field the line lacks is absent). */
export function parseStats(line: string): Partial<Record<StatField, number>> {
  const values = line.trim().split(/\s+/).filter(Boolean).map(Number);
  return Object.fromEntries(
    STAT_FIELDS.flatMap((f, i) => (Number.isFinite(values[i]) ? [[f, values[i]!]] : [])),
  );
}

/** A BackdoorPort that counts calls and errors for `stats`. */
export function countingPort(port: BackdoorPort, c: Counters): BackdoorPort {
  const wrap =
    <A extends unknown[], R>(fn: (...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> => {
      c.add('backdoorCalls');
      try {
        return await fn(...a);
      } catch (e) {
        c.add('backdoorErrors');
        throw e;
      }
    };
  return {
    call: wrap((r) => port.call(r)),
    hbOut: wrap((r, d) => port.hbOut(r, d)),
    hbIn: wrap((r, d) => port.hbIn(r, d)),
    // Multi-call sequences through this wrapper and through `port` itself share one turn.
    exclusive: (fn) => exclusive(port, fn),
  };
}
