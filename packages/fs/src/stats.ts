/** The counters behind `stats` (docs/protocol/tree.md §11), in their documented field order. */
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
