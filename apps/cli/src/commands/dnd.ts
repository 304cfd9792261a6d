/**
 * `vmw9 dnd watch` and `vmw9 dnd offer`: drag and drop through the running agent's tree
 * (docs/protocol/tree.md §18). watch prints each record of dnd/events as it comes, with a progress
 * bar from dnd/status while a drop is received on a terminal; offer writes dnd/offer and prints
 * the offer's id, and with --wait waits until the host takes it.
 */
import { resolve } from 'node:path';
import type { DndTreeEvent } from '@vmw9/fs';
import type { NinepClient } from 'ninep';
import { connectAgentTree } from '../agent-socket.js';
import { CliError, Exit } from '../exit.js';
import type { Output } from '../output.js';
import { Progress, type ProgressSink, size } from '../progress.js';

/** How often dnd/status is read while a drop is received (only with a progress bar). */
export const STATUS_POLL_MS = 200;

/** One record for people. */
export function describeRecord(e: DndTreeEvent): string {
  switch (e.type) {
    case 'begin':
      return `drop ${e.id} begun: ${e.items} ${e.items === 1 ? 'item' : 'items'}, ${size(e.bytes)}`;
    case 'drop':
      return `drop ${e.id}: ${e.files} ${e.files === 1 ? 'file' : 'files'}, ${size(e.bytes)}, in ${e.path}`;
    case 'failed':
      return `drop ${e.id} failed: ${e.reason}`;
    case 'offer':
      return `offer ${e.id}: ${e.files} ${e.files === 1 ? 'file' : 'files'}, ${size(e.bytes)}`;
    case 'taken':
      return `offer ${e.id} taken by the host`;
    case 'cancelled':
      return `offer ${e.id} ended untaken: ${e.reason}`;
    case 'withdrawn':
      return `offer ${e.id} withdrawn`;
  }
}

/** One record for scripts: the record's fields, its kind as `event`. */
function recordJson(e: DndTreeEvent): string {
  const { type, ...rest } = e;
  return JSON.stringify({ event: type, ...rest });
}

/** dnd/events, read one record at a time (each read is one record, blocking until there is one). */
async function openEvents(c: NinepClient) {
  const fs = await import('@vmw9/fs');
  const fid = await c.walk('/dnd/events').catch((e: Error) => {
    throw new CliError(`the agent has no dnd/ (drag and drop is off in its configuration): ${e.message}`);
  });
  await c.open(fid, 'r');
  return {
    /** The next record: parsed, or the raw line when it is not one this vmw9 knows. */
    async next(signal?: AbortSignal): Promise<DndTreeEvent | string> {
      const line = Buffer.from(await c.read(fid, 0, 8192, signal))
        .toString('utf8')
        .replace(/\n$/, '');
      return fs.parseDndEventLine(line) ?? line;
    },
    close: () => c.clunk(fid).catch(() => undefined),
  };
}

const aborted = (signal: AbortSignal) =>
  new Promise<never>((_, reject) =>
    signal.addEventListener('abort', () => reject(new DOMException('stopped', 'AbortError')), { once: true }),
  );

/** A drop's progress bar, fed from dnd/status while that drop is received. */
class DropProgress {
  private done = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly bar: Progress;

  constructor(
    private readonly c: NinepClient,
    private readonly id: number,
    total: number,
    sink: ProgressSink,
    private readonly pollMs: number,
    now?: () => number,
  ) {
    this.bar = new Progress(`drop ${id}`, total, sink, now);
    this.poll();
  }

  private poll(): void {
    this.timer = setTimeout(async () => {
      try {
        const fs = await import('@vmw9/fs');
        const s = fs.parseDndStatusLine((await this.c.readFile('/dnd/status')).toString('utf8'));
        if (s?.kind === 'receiving' && s.id === this.id && s.bytes.done > this.done) {
          this.bar.add(s.bytes.done - this.done);
          this.done = s.bytes.done;
        }
      } catch {
        // A read that fails (the agent stopping) ends nothing: the events stream says how it ends.
      }
      if (this.timer) this.poll();
    }, this.pollMs);
  }

  end(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.bar.finish();
  }
}

export interface DndWatchOptions {
  socket?: string;
  /** Stop after this many drops (drop or failed records). */
  count?: string;
  /** Where the progress bar goes (default standard error, when it is a terminal). */
  progress?: ProgressSink;
  pollMs?: number;
  /** The progress bar's clock (tests). */
  now?: () => number;
}

/** `vmw9 dnd watch`: every record of dnd/events until interrupted (or --count drops). */
export async function dndWatchCommand(
  o: Output,
  opts: DndWatchOptions,
  signal: AbortSignal,
): Promise<number> {
  const count = opts.count === undefined ? Number.POSITIVE_INFINITY : Number(opts.count);
  if (!(count > 0) || (opts.count !== undefined && !Number.isInteger(count)))
    throw new CliError('--count takes a positive whole number', Exit.USAGE);
  const sink = opts.progress ?? (process.stderr.isTTY ? process.stderr : undefined);
  const c = await connectAgentTree(opts.socket);
  const bars = new Map<number, DropProgress>();
  let drops = 0;
  try {
    const events = await openEvents(c);
    const stop = aborted(signal);
    stop.catch(() => undefined);
    while (drops < count && !signal.aborted) {
      let r: DndTreeEvent | string;
      try {
        r = await Promise.race([events.next(signal), stop]);
      } catch (e) {
        if (signal.aborted) break;
        throw e;
      }
      if (typeof r === 'string') {
        o.out(o.json ? JSON.stringify({ event: 'other', line: r }) : r);
        continue;
      }
      if (r.type === 'begin' && sink?.isTTY && !o.json)
        bars.set(r.id, new DropProgress(c, r.id, r.bytes, sink, opts.pollMs ?? STATUS_POLL_MS, opts.now));
      if (r.type === 'drop' || r.type === 'failed') {
        bars.get(r.id)?.end();
        bars.delete(r.id);
        drops++;
      }
      o.out(o.json ? recordJson(r) : describeRecord(r));
    }
    await events.close();
    return Exit.OK;
  } catch (e) {
    throw agentError(e);
  } finally {
    for (const b of bars.values()) b.end();
    c.close();
  }
}

export interface DndOfferOptions {
  socket?: string;
  /** Wait until the host takes the offer. */
  wait?: boolean;
}

/**
 * `vmw9 dnd offer PATH…`: the paths, made absolute, written to dnd/offer and committed by a read
 * of the same fid (the commit's error is the command's); prints the id that read gives. With --wait, waits for the host to take it: exit 0 when
 * taken, 1 when it is withdrawn or ends untaken, or the wait is interrupted (the offer then stays).
 */
export async function dndOfferCommand(
  o: Output,
  paths: readonly string[],
  opts: DndOfferOptions,
  signal: AbortSignal,
): Promise<number> {
  if (paths.length === 0) throw new CliError('dnd offer: name at least one file or directory', Exit.USAGE);
  const absolute = paths.map((p) => resolve(p));
  const bad = absolute.find((p) => p.includes('\n'));
  if (bad !== undefined)
    throw new CliError(
      `dnd offer: a path with a newline cannot be offered: ${JSON.stringify(bad)}`,
      Exit.USAGE,
    );
  const c = await connectAgentTree(opts.socket);
  try {
    // Opened before the commit: the records that follow the offer (its taken, withdrawn…) are this reader's.
    const events = await openEvents(c);
    let offer: Extract<DndTreeEvent, { type: 'offer' }>;
    try {
      offer = await commitOffer(c, absolute);
    } catch (e) {
      throw agentError(e, 'dnd offer');
    }
    if (!opts.wait) {
      o.out(
        o.json
          ? JSON.stringify({ offer: offer.id, files: offer.files, bytes: offer.bytes })
          : String(offer.id),
      );
      await events.close();
      return Exit.OK;
    }
    if (!o.json) o.out(String(offer.id));
    const stop = aborted(signal);
    stop.catch(() => undefined);
    for (;;) {
      let r: DndTreeEvent | string;
      try {
        r = await Promise.race([events.next(signal), stop]);
      } catch (e) {
        if (!signal.aborted) throw e;
        throw new CliError(
          `stopped waiting; offer ${offer.id} is still offered (write withdraw to dnd/ctl to withdraw it)`,
          Exit.FAILED,
          { offer: offer.id, taken: false },
        );
      }
      if (typeof r === 'string' || !('id' in r) || r.id !== offer.id) continue;
      if (r.type === 'taken') {
        if (o.json)
          o.out(JSON.stringify({ offer: offer.id, files: offer.files, bytes: offer.bytes, taken: true }));
        else o.err(`vmw9: offer ${offer.id} taken by the host`);
        await events.close();
        return Exit.OK;
      }
      if (r.type === 'withdrawn' || r.type === 'cancelled')
        throw new CliError(
          r.type === 'withdrawn'
            ? `offer ${offer.id} was withdrawn before the host took it`
            : `the host's drag of offer ${offer.id} ended without taking it: ${r.reason}`,
          Exit.FAILED,
          { offer: offer.id, taken: false },
        );
    }
  } catch (e) {
    throw agentError(e);
  } finally {
    c.close();
  }
}

/**
 * Offers `paths` through one dnd/offer fid opened ORDWR: the writes, then a read that commits them
 * and gives that offer, `offer ID FILES BYTES` (docs/protocol/tree.md §18), so the id is this
 * client's own whatever other clients commit meanwhile.
 */
async function commitOffer(
  c: NinepClient,
  paths: readonly string[],
): Promise<Extract<DndTreeEvent, { type: 'offer' }>> {
  const fs = await import('@vmw9/fs');
  const fid = await c.walk('/dnd/offer');
  try {
    const { iounit } = await c.open(fid, 'rw');
    const data = Buffer.from(`${paths.join('\n')}\n`);
    const chunk = iounit > 0 ? iounit : 8192;
    for (let off = 0; off < data.length; ) off += await c.write(fid, off, data.subarray(off, off + chunk));
    const head = Buffer.from(await c.read(fid, 0, 8192))
      .toString('utf8')
      .split('\n')[0]!;
    const e = fs.parseDndEventLine(head);
    if (e?.type !== 'offer') throw new Error(`dnd/offer: not an offer: ${JSON.stringify(head)}`);
    return e;
  } finally {
    await c.clunk(fid).catch(() => undefined);
  }
}

/** A failure of the tree as a CliError with its text (9P errors carry the tree's words). */
function agentError(e: unknown, what = 'dnd'): Error {
  if (e instanceof CliError) return e;
  const err = e as Error & { ename?: string };
  return new CliError(`${what}: ${err.ename ?? err.message}`, Exit.FAILED);
}
