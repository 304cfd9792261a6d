/**
 * What the 9P benchmarks share (this package's and the vmw9 soak, apps/cli/bench): clients
 * connected one at a time, the small-operation round (walk, lopen, read, clunk) and figures over
 * many samples.
 */
import { NinepClient } from '../src/index.js';

/** `n` clients of `addr` in 9P2000.L, each on its own connection. */
export async function connectAll(
  addr: string,
  n: number,
  aname: string,
  msize: number,
): Promise<NinepClient[]> {
  // One at a time: diod's listen backlog refuses (EAGAIN) a burst of 32 Unix-socket connects.
  const out: NinepClient[] = [];
  for (let i = 0; i < n; i++)
    out.push(
      await NinepClient.connect(addr, {
        msize,
        aname,
        uname: 'root',
        nUname: process.getuid?.() ?? 0,
      }),
    );
  return out;
}

/**
 * One small operation: walk to `name`, lopen, read up to 1 KiB, clunk (four requests). `took`, when
 * given, is told each request's round-trip time in ms. Returns the bytes read.
 */
export async function smallOp(c: NinepClient, name: string, took?: (ms: number) => void): Promise<number> {
  let t = performance.now();
  const lap = () => {
    const now = performance.now();
    took?.(now - t);
    t = now;
  };
  const fid = await c.walk([name]);
  lap();
  await c.rpc({ type: 'Tlopen', fid, flags: 0 });
  lap();
  const d = await c.read(fid, 0, 1024);
  lap();
  await c.clunk(fid);
  lap();
  return d.length;
}

/** The median of a few numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The p-th percentile (0..100) of a sample, by nearest rank. */
export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? Number.NaN;
}

/**
 * Runs `rounds` small operations on each client at once (each client one after another); returns
 * requests per second over all clients and the 99th percentile of one request's round trip.
 */
export async function loadRun(
  clients: NinepClient[],
  rounds: number,
  name: string,
): Promise<{ requestsPerSec: number; p99Ms: number; requests: number }> {
  const took: number[] = [];
  const record = (ms: number) => took.push(ms);
  const t0 = performance.now();
  await Promise.all(
    clients.map(async (c) => {
      for (let i = 0; i < rounds; i++) await smallOp(c, name, record);
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  return { requestsPerSec: took.length / secs, p99Ms: percentile(took, 99), requests: took.length };
}
