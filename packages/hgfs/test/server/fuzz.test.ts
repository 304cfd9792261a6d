/**
 * HgfsServer.handle() on hostile input, with each share policy: it never throws, answers with a
 * packet no bigger than its limit or drops, and nothing outside what it serves is touched.
 */
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  decodeReply,
  encodeRequest,
  type FileNameV3,
  GuestShares,
  HGFS_FIRST_V4_OP,
  HGFS_LARGE_PACKET_MAX,
  HgfsFileNameFlags,
  HgfsOp,
  type HgfsRequest,
  HgfsServer,
  HostShares,
  type ShareTable,
} from '../../src/index.js';
import * as arb from '../arbitraries.js';

// Made when the file is collected: describe.each below builds a policy over it.
const base = realpathSync(mkdtempSync(join(tmpdir(), 'hgfs-server-fuzz-')));
const served = join(base, 'served');
const outside = join(base, 'outside');
mkdirSync(join(served, 'sub'), { recursive: true });
mkdirSync(outside);
writeFileSync(join(served, 'sub', 'f'), 'served');
writeFileSync(join(outside, 'secret'), 'secret');

afterAll(() => {
  rmSync(base, { recursive: true, force: true });
});

/** Each policy, with the name prefix that reaches what it serves. */
function policies(): { label: string; shares: ShareTable; prefix: string[] }[] {
  const host = new HostShares();
  host.add('s', served);
  const guest = new GuestShares();
  guest.grantWrite(served, { maxBytes: 1 << 20 });
  return [
    { label: 'HostShares', shares: host, prefix: ['s'] },
    { label: 'GuestShares', shares: guest, prefix: ['root', ...served.split('/').filter(Boolean)] },
  ];
}

/**
 * The request with every name it carries moved under `prefix` (so it reaches real files), and
 * its handles made small (handles are numbered from 1, so these name the ones opened before).
 */
function under(req: HgfsRequest, prefix: string[]): HgfsRequest {
  const r = { ...req } as Record<string, unknown>;
  const small = (h: number) => (h % 6) + 1;
  for (const k of ['fileName', 'dirName', 'oldName', 'newName', 'symlinkName']) {
    const n = r[k] as FileNameV3 | undefined;
    if (!n) continue;
    r[k] =
      (n.flags & HgfsFileNameFlags.USE_FILE_DESC) !== 0
        ? { ...n, fid: small(n.fid) }
        : { ...n, path: [...prefix, ...n.path] };
  }
  for (const k of ['file', 'search']) if (typeof r[k] === 'number') r[k] = small(r[k] as number);
  return r as unknown as HgfsRequest;
}

function handled(server: HgfsServer, packet: Uint8Array): void {
  const reply = server.handle(packet);
  if (reply !== undefined) {
    expect(reply).toBeInstanceOf(Uint8Array);
    expect(reply.length).toBeLessThanOrEqual(HGFS_LARGE_PACKET_MAX);
  }
}

const RUNS = { numRuns: 400 };

describe.each(policies())('HgfsServer.handle with $label', ({ shares, prefix }) => {
  const server = new HgfsServer({ shares });

  it('random bytes: a reply or a drop, never a throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => handled(server, bytes)),
      { numRuns: 2000 },
    );
  });

  it('sequences of valid and mutated requests in a session, under the share: never a throw', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(arb.request, fc.array(arb.mutation, { maxLength: 2 }), arb.framing), {
          minLength: 1,
          maxLength: 12,
        }),
        (steps) => {
          server.reset();
          const session = encodeRequest(
            {
              op: HgfsOp.CREATE_SESSION_V4,
              maxPacketSize: HGFS_LARGE_PACKET_MAX,
              flags: 0,
              capabilities: [],
            },
            { framing: 'v4', requestId: 1, sessionId: 0n },
          );
          const sessionId = decodeReply(server.handle(session)!, {
            framing: 'v4',
            requestId: 1,
            op: HgfsOp.CREATE_SESSION_V4,
          }).reply!.sessionId;
          let id = 2;
          for (const [req, ms, framing] of steps) {
            const r = under(req, prefix);
            const packet = encodeRequest(
              r,
              framing === 'v4' || r.op >= HGFS_FIRST_V4_OP
                ? { framing: 'v4', requestId: id++, sessionId }
                : { framing: 'legacy', requestId: id++ },
            );
            handled(server, arb.mutate(packet, ms));
          }
        },
      ),
      RUNS,
    );
    // Op numbers a peer made up are counted together: the counts stay bounded.
    expect(Object.keys(server.counts()).filter((k) => /^op \d/.test(k))).toEqual([]);
    server.reset();
    expect(server.state()).toMatchObject({ sessions: 0, openFiles: 0 });
    // Whatever happened under the share, nothing beside it changed.
    expect(readdirSync(base).sort()).toEqual(['outside', 'served']);
    expect(readdirSync(outside)).toEqual(['secret']);
    expect(readFileSync(join(outside, 'secret'), 'utf8')).toBe('secret');
  });
});
