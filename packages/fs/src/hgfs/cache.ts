/**
 * The attribute cache of the hgfs/ subtree (docs/protocol/tree.md §17): what the host said about a
 * path (its attributes, or that nothing is there) is reused for a bounded time, so a directory
 * listing followed by a walk and a getattr per entry (what `ls -l` does over v9fs) costs the host
 * one listing and nothing per file. Our own changes drop what they make stale, and an answer
 * asked for before such a change but arriving after it is not kept (see `stamp`). Bounded in
 * entries too: the oldest go first.
 */
import type { HgfsAttr } from '@vmw9/hgfs';

/** Entries kept at most (a listing of a huge directory must not hold the whole of it forever). */
export const ATTR_CACHE_ENTRIES = 65536;

interface Entry {
  /** null: the host said there is no such file. */
  attr: HgfsAttr | null;
  expires: number;
}

export class AttrCache {
  private readonly entries = new Map<string, Entry>();
  /** Counts drops and clears: an answer asked for under an older count may predate a change. */
  private changes = 0;

  constructor(
    /** How long an answer is reused, in ms; 0 turns the cache off. */
    readonly lifetimeMs: number,
    /** The clock (ms), injectable so tests never depend on the wall clock. */
    private readonly now: () => number = Date.now,
    private readonly maxEntries = ATTR_CACHE_ENTRIES,
  ) {}

  /** A fresh answer for `key`: the attributes, null for "no such file", undefined when unknown. */
  get(key: string): HgfsAttr | null | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.expires <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e.attr;
  }

  /**
   * Taken before asking the host; given to `set` with the answer, which is then kept only if
   * nothing was dropped meanwhile (our own write may have overtaken the question on the host).
   */
  get stamp(): number {
    return this.changes;
  }

  set(key: string, attr: HgfsAttr | null, askedAt?: number): void {
    if (this.lifetimeMs <= 0) return;
    if (askedAt !== undefined && askedAt !== this.changes) return;
    this.entries.delete(key);
    this.entries.set(key, { attr, expires: this.now() + this.lifetimeMs });
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }

  /** Forgets `key`. */
  drop(key: string): void {
    this.changes++;
    this.entries.delete(key);
  }

  /** Forgets `key` and everything below it (a directory renamed or removed). */
  dropTree(key: string): void {
    this.changes++;
    this.entries.delete(key);
    const prefix = `${key}/`;
    for (const k of this.entries.keys()) if (k.startsWith(prefix)) this.entries.delete(k);
  }

  /** Forgets everything (the host's session was lost). */
  clear(): void {
    this.changes++;
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
