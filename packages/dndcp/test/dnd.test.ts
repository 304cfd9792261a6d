// DndGuest against a scripted host (docs/protocol/dndcp.md §9, §10): every transition both ways,
// the wrong-state resets, local cancels, timeouts on a fake clock.
import { describe, expect, it } from 'vitest';
import {
  Cmd,
  type CpClipboard,
  CpFormat,
  type CpFormatId,
  DND_CAPS,
  DND_DEFAULT_TIMEOUTS,
  DNDCP_PAYLOAD_MAX,
  DndCpEncodeError,
  DndCpLimitError,
  type DndCpReceivedMessage,
  DropEffect,
  decodeClipboard,
  decodeFileList,
  decodePacket,
  decodeTransport,
  decodeUriFileList,
  encodeClipboard,
  textItem,
} from '../src/index.js';
import { FakeDndHost, filesClipboard } from './fake-dnd-host.js';

/** The CPName of the first drop's staging directory, /tmp/VMwareDnD/000001. */
const STAGED_1 = ['root', 'tmp', 'VMwareDnD', '000001'].join('\x00');

/** Lets every pending promise callback run (no clock involved). */
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

const TIMEOUTS = { dragBeginMs: 1000, idleTransferMs: 500, offerMs: 2000 };

async function host(opts: ConstructorParameters<typeof FakeDndHost>[0] = {}): Promise<FakeDndHost> {
  const h = new FakeDndHost({ ...opts, guest: { timeouts: TIMEOUTS, ...opts.guest } });
  expect(await h.guest.enable()).toBe(4);
  h.fresh();
  return h;
}

/** The message's fields a test compares. */
function brief(m: DndCpReceivedMessage): {
  cmd: number;
  sessionId: number;
  status: number;
  params: number[];
} {
  return { cmd: m.cmd, sessionId: m.sessionId, status: m.status, params: m.params };
}

const p = (...xs: number[]): number[] => [...xs, 0, 0, 0, 0, 0, 0].slice(0, 6);

/** A host drag of two items, 300 bytes, started and moved over the guest: state src-dragging. */
async function dragging(h: FakeDndHost, sid = 7): Promise<void> {
  await h.dragBegin(sid, filesClipboard(['a.txt', 'dir'], 300));
  await h.moveMouse(sid);
  expect(h.guest.state).toBe('src-dragging');
  h.fresh();
}

/** … and dropped: state receiving, staging /tmp/VMwareDnD/00000N. */
async function receiving(h: FakeDndHost, sid = 7): Promise<void> {
  await dragging(h, sid);
  await h.drop(sid);
  expect(h.guest.state).toBe('receiving');
  h.fresh();
}

const text = (s: string): CpClipboard => ({
  items: new Map([[CpFormat.TEXT as CpFormatId, textItem(s)]]),
  changed: true,
});

describe('negotiation', () => {
  it('asks vmx.capability.dnd_version, then PINGs {4, 0, 0x0aab} on dnd.transport (type 3, src 1)', async () => {
    const h = new FakeDndHost();
    expect(h.guest.active).toBe(false);
    expect(await h.guest.enable()).toBe(4);
    expect(h.rpci[0]?.toString('latin1')).toBe('vmx.capability.dnd_version');
    const t = decodeTransport(h.rpci[1] as Buffer);
    expect(t?.channel).toBe('dnd');
    const { header } = decodePacket(t?.packet as Buffer);
    expect(header).toMatchObject({ cmd: Cmd.PING, type: 3, src: 1, sessionId: 0, binarySize: 0 });
    expect(header.params).toEqual(p(4, 0, DND_CAPS));
    expect(h.guest.active).toBe(true);
    expect(h.guest.state).toBe('ready');
  });

  it('PING_REPLY p3 becomes hostCaps', async () => {
    const h = await host();
    expect(h.guest.hostCaps).toBeUndefined();
    await h.send({ cmd: Cmd.PING_REPLY, sessionId: 0, params: [4, 0, 0x0203] });
    expect(h.guest.hostCaps).toBe(0x0203);
  });

  it('a version 3 host, a failed or throwing query: no PING, packets not taken', async () => {
    for (const [version, want] of [
      ['3', 3],
      ['fail', 0],
      ['throw', 0],
    ] as const) {
      const h = new FakeDndHost({ version });
      expect(await h.guest.enable()).toBe(want);
      expect(h.rpci).toHaveLength(1);
      expect(h.guest.active).toBe(false);
      await h.dragBegin(1, text('x'));
      expect(h.rpci).toHaveLength(1);
      expect(h.events.at(-1)?.[0]).toBe('error');
    }
  });

  it('an empty packet is an error event, not a throw; a malformed one gets REPLY INVALID_PACKET', async () => {
    const h = await host();
    await expect(h.guest.handleTransport(new Uint8Array())).resolves.toBeUndefined();
    expect(h.events.at(-1)?.[0]).toBe('error');
    await h.raw(Buffer.alloc(57));
    const r = h.fresh();
    expect(r.map(brief)).toEqual([{ cmd: Cmd.REPLY, sessionId: 0, status: 5, params: p(0) }]);
    expect(h.guest.state).toBe('ready');
  });

  it('a REPLY with an error status is an error event; a listener that throws does not break the drag', async () => {
    const h = await host();
    await h.send({ cmd: Cmd.REPLY, sessionId: 0, status: 5, params: [0] });
    expect(h.events.at(-1)?.[0]).toBe('error');
    h.guest.once('drop-begin', () => {
      throw new Error('listener bug');
    });
    await h.dragBegin(3, text('hi'));
    expect(h.guest.state).toBe('src-dragging');
    expect(h.fresh().map((m) => m.cmd)).toEqual([Cmd.DND_SRC_DRAG_BEGIN_DONE, Cmd.DND_UPDATE_FEEDBACK]);
  });
});

describe('host → guest: a drop of files', () => {
  it('SRC_DRAG_BEGIN → BEGIN_DONE {4, 0} and feedback NONE; MOVE_MOUSE → feedback COPY once', async () => {
    const h = await host();
    await h.dragBegin(7, filesClipboard(['a.txt', 'dir'], 300));
    expect(h.guest.state).toBe('src-dragging');
    expect(h.fresh().map(brief)).toEqual([
      { cmd: Cmd.DND_SRC_DRAG_BEGIN_DONE, sessionId: 7, status: 0, params: p(4, 0) },
      { cmd: Cmd.DND_UPDATE_FEEDBACK, sessionId: 7, status: 0, params: p(DropEffect.NONE) },
    ]);
    const begin = h.events.find((e) => e[0] === 'drop-begin')?.[1];
    expect(begin).toMatchObject({ dropId: 1, sessionId: 7, formats: ['FILELIST'] });
    expect(begin && 'fileList' in begin && begin.fileList?.relNames).toEqual(['a.txt', 'dir']);
    await h.moveMouse(7, 5, 6);
    expect(h.fresh().map(brief)).toEqual([
      { cmd: Cmd.DND_UPDATE_FEEDBACK, sessionId: 7, status: 0, params: p(DropEffect.COPY) },
    ]);
    await h.moveMouse(7, 6, 7);
    expect(h.fresh()).toEqual([]);
    expect(h.guest.status()).toMatchObject({
      state: 'src-dragging',
      dropId: 1,
      files: { done: 0, total: 2 },
      bytes: { done: 0, total: 300 },
    });
  });

  it('SRC_DROP → staging, drop-staged, SRC_DROP_DONE {session, CPName}; GET_FILES_DONE 0 → drop-done', async () => {
    const h = await host();
    await dragging(h);
    let stagedBeforeDone = false;
    h.duringRpci = () => {
      stagedBeforeDone = h.names().includes('drop-staged');
    };
    await h.drop(8);
    expect(stagedBeforeDone).toBe(true);
    expect(h.staging.created).toEqual(['/tmp/VMwareDnD/000001']);
    const [done] = h.fresh();
    expect(done && brief(done)).toEqual({ cmd: Cmd.DND_SRC_DROP_DONE, sessionId: 8, status: 0, params: p() });
    expect(done?.binary.toString('latin1')).toBe(STAGED_1);
    expect(h.guest.state).toBe('receiving');
    expect(h.events.find((e) => e[0] === 'drop-staged')?.[1]).toEqual({
      dropId: 1,
      dir: '/tmp/VMwareDnD/000001',
      cpName: Buffer.from(STAGED_1),
    });
    h.guest.transferActivity(100, { fileDone: true });
    h.guest.transferActivity(200);
    expect(h.guest.status()).toMatchObject({
      files: { done: 1, total: 2 },
      bytes: { done: 300, total: 300 },
    });
    await h.getFilesDone(8, 0);
    expect(h.guest.state).toBe('ready');
    expect(h.events.at(-1)).toEqual([
      'drop-done',
      { dropId: 1, dir: '/tmp/VMwareDnD/000001', files: ['a.txt', 'dir'], bytes: 300 },
    ]);
    expect(h.fresh()).toEqual([]);
    expect(h.staging.discarded).toEqual([]);
    expect(h.guest.stats).toMatchObject({ drops: 1, dropsDone: 1, dropsFailed: 0 });
    expect(h.clock.pending).toBe(0);
    // The directory is the caller's from here: nothing that follows discards it.
    await h.getFilesDone(8, 1);
    await h.srcCancel(8);
    await h.drop(8);
    h.guest.cancel();
    h.guest.disable();
    h.clock.advance(1e7);
    await h.guest.settled();
    expect(h.staging.discarded).toEqual([]);
    expect(h.names().filter((n) => n.startsWith('drop-'))).toEqual([
      'drop-begin',
      'drop-staged',
      'drop-done',
    ]);
  });

  it('GET_FILES_DONE with an error status fails the drop and discards the staging', async () => {
    const h = await host();
    await receiving(h);
    await h.getFilesDone(7, 1);
    expect(h.guest.state).toBe('ready');
    expect(h.events.at(-1)).toEqual([
      'drop-failed',
      expect.objectContaining({ dropId: 1, dir: '/tmp/VMwareDnD/000001', code: 'host-failed' }),
    ]);
    await h.guest.settled();
    expect(h.staging.discarded).toEqual(['/tmp/VMwareDnD/000001']);
  });

  it('a second SRC_DROP while receiving is answered SRC_DROP_DONE again (vmusr stays SRC_DRAGGING)', async () => {
    const h = await host();
    await receiving(h);
    await h.drop(7);
    expect(h.fresh().map((m) => [m.cmd, m.binary.toString('latin1')])).toEqual([
      [Cmd.DND_SRC_DROP_DONE, STAGED_1],
    ]);
    expect(h.staging.created).toHaveLength(1);
    expect(h.guest.state).toBe('receiving');
  });

  it('the host writing more than its file list announced fails the drop ("over-size")', async () => {
    const h = await host();
    await receiving(h);
    h.guest.transferActivity(300);
    expect(h.guest.state).toBe('receiving');
    h.guest.transferActivity(1);
    expect(h.guest.state).toBe('ready');
    expect(h.events.at(-1)).toEqual(['drop-failed', expect.objectContaining({ code: 'over-size' })]);
    await h.guest.settled();
    expect(h.staging.discarded).toEqual(['/tmp/VMwareDnD/000001']);
    // The host's late GET_FILES_DONE changes nothing.
    await h.getFilesDone(7, 0);
    expect(h.names().filter((n) => n === 'drop-done')).toEqual([]);
    expect(h.guest.state).toBe('ready');
  });

  it('MOVE_MOUSE while receiving, HGFS activity outside a drop: nothing', async () => {
    const h = await host();
    h.guest.transferActivity(5);
    await receiving(h);
    await h.moveMouse(7);
    expect(h.fresh()).toEqual([]);
    expect(h.guest.state).toBe('receiving');
  });
});

describe('host → guest: a drop of data', () => {
  it('TEXT, RTF and PNG become dropped.txt/.rtf/.png in the drop-done event; no SRC_DROP_DONE', async () => {
    const h = await host();
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1]);
    await h.dragBegin(4, {
      items: new Map<CpFormatId, Buffer>([
        [CpFormat.TEXT, textItem('héllo')],
        [CpFormat.RTF, Buffer.from('{\\rtf1 x}\0')],
        [CpFormat.IMG_PNG, png],
      ]),
      changed: true,
    });
    expect(h.events.find((e) => e[0] === 'drop-begin')?.[1]).toEqual({
      dropId: 1,
      sessionId: 4,
      formats: ['TEXT', 'RTF', 'IMG_PNG'],
    });
    h.fresh();
    await h.drop(4);
    expect(h.fresh()).toEqual([]);
    expect(h.guest.state).toBe('ready');
    expect(h.events.at(-1)).toEqual([
      'drop-done',
      {
        dropId: 1,
        dir: '/tmp/VMwareDnD/000001',
        files: ['dropped.txt', 'dropped.rtf', 'dropped.png'],
        bytes: 6 + 9 + 6,
        data: [
          { name: 'dropped.txt', format: 'TEXT', data: Buffer.from('héllo') },
          { name: 'dropped.rtf', format: 'RTF', data: Buffer.from('{\\rtf1 x}') },
          { name: 'dropped.png', format: 'IMG_PNG', data: png },
        ],
      },
    ]);
  });

  it('SRC_DRAG_BEGIN without a clipboard, with a bad one, or with nothing droppable: error, nothing sent', async () => {
    const h = await host();
    await h.send({ cmd: Cmd.DND_SRC_DRAG_BEGIN, sessionId: 1 });
    await h.send({ cmd: Cmd.DND_SRC_DRAG_BEGIN, sessionId: 1, binary: Buffer.from([11, 0, 0]) });
    const badList = filesClipboard(['a'], 1);
    badList.items.set(CpFormat.FILELIST, Buffer.from([1, 2, 3]));
    await h.dragBegin(1, badList);
    await h.dragBegin(1, {
      items: new Map([[CpFormat.HTML as CpFormatId, Buffer.from('<b>x</b>')]]),
      changed: true,
    });
    expect(h.names()).toEqual(['error', 'error', 'error', 'error']);
    expect(h.fresh()).toEqual([]);
    expect(h.guest.state).toBe('ready');
    expect(h.clock.pending).toBe(0);
  });
});

describe('host → guest: cancel, failure and wrong state at every state', () => {
  it('SRC_CANCEL in src-dragging, staging and receiving fails the drop; staging made is discarded', async () => {
    const h = await host();
    await dragging(h);
    await h.srcCancel(7);
    expect(h.events.at(-1)).toEqual([
      'drop-failed',
      expect.objectContaining({ dropId: 1, code: 'host-cancel' }),
    ]);
    expect(h.events.at(-1)?.[1]).not.toHaveProperty('dir');

    await dragging(h, 8);
    h.staging.hold = true;
    const dropping = h.drop(8);
    await turn();
    expect(h.guest.state).toBe('staging');
    await h.srcCancel(8);
    expect(h.guest.state).toBe('ready');
    h.staging.release();
    await dropping;
    await h.guest.settled();
    expect(h.staging.discarded).toEqual(['/tmp/VMwareDnD/000002']);
    expect(h.fresh().map((m) => m.cmd)).not.toContain(Cmd.DND_SRC_DROP_DONE);

    await receiving(h, 9);
    await h.srcCancel(9);
    await h.guest.settled();
    expect(h.staging.discarded).toEqual(['/tmp/VMwareDnD/000002', '/tmp/VMwareDnD/000003']);
    expect(h.guest.stats).toMatchObject({ drops: 3, dropsFailed: 3 });
    expect(h.clock.pending).toBe(0);
  });

  it('SRC_CANCEL, SRC_DROP, GET_FILES_DONE, MOVE_MOUSE with no drag: ignored', async () => {
    const h = await host();
    await h.srcCancel(1);
    await h.drop(1);
    await h.getFilesDone(1);
    await h.moveMouse(1);
    expect(h.guest.stats.ignored).toBe(4);
    expect(h.guest.stats.resets).toBe(0);
    expect(h.events).toEqual([]);
    expect(h.fresh()).toEqual([]);
  });

  it('cancel() in src-drag-pending, src-dragging, staging and receiving', async () => {
    const h = await host();
    h.duringRpci = () => {
      expect(h.guest.state).toBe('src-drag-pending');
      h.guest.cancel('user');
    };
    await h.dragBegin(1, text('x'));
    expect(h.fresh().map((m) => m.cmd)).toEqual([Cmd.DND_SRC_DRAG_BEGIN_DONE]);
    expect(h.events.at(-1)).toEqual(['drop-failed', { dropId: 1, code: 'local-cancel', reason: 'user' }]);

    await dragging(h, 2);
    h.guest.cancel();
    expect(h.events.at(-1)).toEqual([
      'drop-failed',
      expect.objectContaining({ dropId: 2, code: 'local-cancel' }),
    ]);

    await dragging(h, 3);
    h.staging.hold = true;
    const dropping = h.drop(3);
    await turn();
    h.guest.cancel();
    h.staging.release();
    await dropping;
    await h.guest.settled();
    expect(h.staging.discarded).toEqual(['/tmp/VMwareDnD/000003']);

    await receiving(h, 4);
    h.guest.cancel();
    await h.guest.settled();
    expect(h.staging.discarded).toEqual(['/tmp/VMwareDnD/000003', '/tmp/VMwareDnD/000004']);
    expect(h.guest.state).toBe('ready');
    h.guest.cancel();
    expect(h.guest.stats.dropsFailed).toBe(4);
  });

  it('vmusr resets on SRC_DRAG_BEGIN or QUERY_EXITING during a drag: the drop fails, nothing is answered', async () => {
    const h = await host();
    await dragging(h);
    await h.dragBegin(9, text('y'));
    expect(h.events.at(-1)).toEqual(['drop-failed', expect.objectContaining({ code: 'protocol' })]);
    expect(h.fresh()).toEqual([]);
    expect(h.guest.state).toBe('ready');

    await receiving(h, 10);
    await h.queryExiting(11);
    expect(h.fresh()).toEqual([]);
    expect(h.guest.state).toBe('ready');
    await h.guest.settled();
    expect(h.staging.discarded).toEqual(['/tmp/VMwareDnD/000002']);
    expect(h.guest.stats.resets).toBe(2);
  });

  it('GET_FILES_DONE before the drop, SRC_DROP before BEGIN_DONE went out: reset', async () => {
    const h = await host();
    await dragging(h);
    await h.getFilesDone(7, 0);
    expect(h.events.at(-1)).toEqual(['drop-failed', expect.objectContaining({ code: 'protocol' })]);
    h.duringRpci = async () => {
      await h.drop(2);
    };
    await h.dragBegin(2, text('x'));
    expect(h.events.at(-1)).toEqual([
      'drop-failed',
      expect.objectContaining({ dropId: 2, code: 'protocol' }),
    ]);
    expect(h.guest.state).toBe('ready');
    expect(h.staging.created).toEqual([]);
  });

  it('staging that fails or is not absolute fails the drop; nothing is sent', async () => {
    const h = await host();
    await dragging(h);
    h.staging.fail = new Error('EACCES');
    await h.drop(7);
    expect(h.events.at(-1)).toEqual([
      'drop-failed',
      { dropId: 1, code: 'staging', reason: 'no staging directory: EACCES' },
    ]);
    h.staging.fail = undefined;
    h.staging.path = 'relative/dir';
    await dragging(h, 8);
    await h.drop(8);
    expect(h.events.at(-1)).toEqual([
      'drop-failed',
      expect.objectContaining({ code: 'staging', dir: 'relative/dir' }),
    ]);
    await h.guest.settled();
    expect(h.staging.discarded).toEqual(['relative/dir']);
    expect(h.fresh()).toEqual([]);
  });

  it('a failed RPCI ends the drag ("rpc") with an error event', async () => {
    const h = await host();
    h.failTransport = 1;
    await h.dragBegin(1, text('x'));
    expect(h.names()).toEqual(['drop-begin', 'error', 'drop-failed']);
    expect(h.events.at(-1)).toEqual(['drop-failed', expect.objectContaining({ code: 'rpc' })]);
    expect(h.guest.state).toBe('ready');
    await dragging(h, 2);
    h.failTransport = 1;
    await h.drop(2);
    expect(h.events.at(-1)).toEqual(['drop-failed', expect.objectContaining({ code: 'rpc' })]);
    await h.guest.settled();
    expect(h.staging.discarded).toEqual(['/tmp/VMwareDnD/000002']);
  });

  it('disable() fails a drop in progress; packets are then refused; enable() again ends a drag too', async () => {
    const h = await host();
    await receiving(h);
    h.guest.disable();
    expect(h.events.at(-1)).toEqual(['drop-failed', expect.objectContaining({ code: 'disabled' })]);
    await h.getFilesDone(7);
    expect(h.events.at(-1)?.[0]).toBe('error');
    await h.guest.enable();
    await dragging(h, 2);
    await h.guest.enable();
    expect(h.events.at(-1)).toEqual([
      'drop-failed',
      expect.objectContaining({ dropId: 2, code: 'disabled' }),
    ]);
    expect(h.guest.state).toBe('ready');
  });
});

describe('host → guest: timeouts', () => {
  it('defaults: 120 s to the drop, 60 s idle transfer, 120 s offer', () => {
    expect(DND_DEFAULT_TIMEOUTS).toEqual({ dragBeginMs: 120_000, idleTransferMs: 60_000, offerMs: 120_000 });
  });

  it('uses the defaults when given none', async () => {
    const h = new FakeDndHost();
    await h.guest.enable();
    await h.dragBegin(1, filesClipboard(['a'], 1));
    await h.drop(1);
    h.guest.offer([{ path: '/a' }], { totalBytes: 0 });
    h.guest.cancel();
    await h.queryExiting(2);
    expect(h.clock.started).toEqual([120_000, 60_000, 60_000, 120_000]);
  });

  it('no SRC_DROP within dragBeginMs (each MOVE_MOUSE re-arms it) fails the drop', async () => {
    const h = await host();
    await dragging(h);
    h.clock.advance(999);
    await h.moveMouse(7);
    h.clock.advance(999);
    expect(h.guest.state).toBe('src-dragging');
    h.clock.advance(1);
    expect(h.guest.state).toBe('ready');
    expect(h.events.at(-1)).toEqual(['drop-failed', expect.objectContaining({ code: 'timeout' })]);
  });

  it('no HGFS activity within idleTransferMs after SRC_DROP_DONE fails the drop and discards', async () => {
    const h = await host();
    await receiving(h);
    h.clock.advance(499);
    h.guest.transferActivity(10);
    h.clock.advance(499);
    expect(h.guest.state).toBe('receiving');
    h.clock.advance(1);
    expect(h.events.at(-1)).toEqual([
      'drop-failed',
      expect.objectContaining({ code: 'timeout', dir: '/tmp/VMwareDnD/000001' }),
    ]);
    await h.guest.settled();
    expect(h.staging.discarded).toEqual(['/tmp/VMwareDnD/000001']);
  });

  it('a staging directory that takes longer than idleTransferMs: the drop fails, the late directory is discarded', async () => {
    const h = await host();
    await dragging(h);
    h.staging.hold = true;
    const dropping = h.drop(7);
    await turn();
    h.clock.advance(500);
    expect(h.events.at(-1)).toEqual(['drop-failed', expect.objectContaining({ code: 'timeout' })]);
    h.staging.release();
    await dropping;
    await h.guest.settled();
    expect(h.staging.discarded).toEqual(['/tmp/VMwareDnD/000001']);
    expect(h.fresh()).toEqual([]);
  });
});

/** The DEST_DRAG_ENTER clipboard's FILELIST and FILELIST_URI. */
function entered(m: DndCpReceivedMessage | undefined) {
  const clip = decodeClipboard(m?.binary ?? Buffer.alloc(0));
  return {
    formats: [...clip.items.keys()],
    list: decodeFileList(clip.items.get(CpFormat.FILELIST) as Buffer),
    uris: decodeUriFileList(clip.items.get(CpFormat.FILELIST_URI) as Buffer),
  };
}

describe('guest → host: an offer', () => {
  it('QUERY_EXITING with no offer → DRAG_NOT_PENDING {session}', async () => {
    const h = await host();
    await h.queryExiting(5);
    expect(h.fresh().map(brief)).toEqual([
      { cmd: Cmd.DND_DRAG_NOT_PENDING, sessionId: 5, status: 0, params: p() },
    ]);
    expect(h.guest.state).toBe('ready');
    expect(h.guest.stats.notPending).toBe(1);
  });

  it('QUERY_EXITING with an offer → DEST_DRAG_ENTER {4, 0, FILELIST + FILELIST_URI}; DEST_DROP → taken', async () => {
    const h = await host();
    const id = h.guest.offer([{ path: '/home/u/a.txt' }, { path: '/home/u/my dir/' }], { totalBytes: 4096 });
    expect(h.guest.currentOffer()).toEqual({
      offerId: id,
      paths: ['/home/u/a.txt', '/home/u/my dir/'],
      totalBytes: 4096,
    });
    await h.queryExiting(5);
    const [enter] = h.fresh();
    expect(enter && brief(enter)).toEqual({
      cmd: Cmd.DND_DEST_DRAG_ENTER,
      sessionId: 5,
      status: 0,
      params: p(4, 0),
    });
    const { formats, list, uris } = entered(enter);
    expect(formats).toEqual([CpFormat.FILELIST, CpFormat.FILELIST_URI]);
    expect(list).toEqual({
      totalSize: 4096n,
      relNames: ['a.txt', 'my dir'],
      fullPaths: [Buffer.from('root\0home\0u\0a.txt'), Buffer.from('root\0home\0u\0my dir')],
    });
    expect(uris).toEqual({ totalSize: 4096n, uris: ['file:///home/u/a.txt', 'file:///home/u/my%20dir/'] });
    expect(h.guest.state).toBe('offering');
    expect(h.events).toEqual([['offer-entered', { offerId: id, sessionId: 5 }]]);
    await h.cmd(Cmd.DND_DEST_DRAG_ENTER_REPLY, 5, 0);
    expect(h.guest.state).toBe('offering');
    h.guest.transferActivity(1000);
    expect(h.guest.status()).toMatchObject({
      state: 'offering',
      offerId: id,
      bytes: { done: 1000, total: 4096 },
    });
    await h.cmd(Cmd.DND_DEST_DROP, 5);
    expect(h.guest.state).toBe('ready');
    expect(h.events.at(-1)).toEqual(['offer-taken', { offerId: id }]);
    expect(h.fresh()).toEqual([]);
    // One offer, one drag.
    expect(h.guest.currentOffer()).toBeUndefined();
    await h.queryExiting(6);
    expect(h.fresh().map((m) => m.cmd)).toEqual([Cmd.DND_DRAG_NOT_PENDING]);
    expect(h.clock.pending).toBe(0);
  });

  it('PRIV_DRAG_ENTER / PRIV_DRAG_LEAVE move between offering and priv-dragging; PRIV_DROP ends it', async () => {
    const h = await host();
    const id = h.guest.offer([{ path: '/x' }], { totalBytes: 1 });
    await h.queryExiting(5);
    await h.cmd(Cmd.DND_PRIV_DRAG_ENTER, 5);
    expect(h.guest.state).toBe('priv-dragging');
    await h.cmd(Cmd.DND_PRIV_DRAG_LEAVE, 5);
    expect(h.guest.state).toBe('offering');
    await h.cmd(Cmd.DND_PRIV_DRAG_ENTER, 5);
    await h.cmd(Cmd.DND_PRIV_DROP, 5);
    expect(h.guest.state).toBe('ready');
    expect(h.events.at(-1)).toEqual([
      'offer-cancelled',
      expect.objectContaining({ offerId: id, code: 'priv-drop' }),
    ]);
  });

  it('DEST_CANCEL (1021, or the 1020 of 13.1) in offering and in priv-dragging cancels; the offer is used up', async () => {
    const h = await host();
    expect([Cmd.DND_DEST_CANCEL, Cmd.DND_UPDATE_UNITY_DET_WND]).toEqual([1021, 1020]);
    for (const [priv, cancel] of [
      [false, 1021],
      [true, 1021],
      [false, 1020],
      [true, 1020],
    ] as const) {
      const id = h.guest.offer([{ path: '/x' }], { totalBytes: 1 });
      await h.queryExiting(5);
      if (priv) await h.cmd(Cmd.DND_PRIV_DRAG_ENTER, 5);
      await h.cmd(cancel, 5);
      expect(h.events.at(-1)).toEqual([
        'offer-cancelled',
        expect.objectContaining({ offerId: id, code: 'host-cancel' }),
      ]);
      expect(h.guest.currentOffer()).toBeUndefined();
      expect(h.guest.state).toBe('ready');
    }
  });

  it('wrong state: PRIV_DRAG_LEAVE in offering, PRIV_DRAG_ENTER in priv-dragging, QUERY_EXITING, SRC_DRAG_BEGIN', async () => {
    const h = await host();
    const cases: [() => Promise<void>, boolean][] = [
      [() => h.cmd(Cmd.DND_PRIV_DRAG_LEAVE, 5), false],
      [() => h.cmd(Cmd.DND_PRIV_DRAG_ENTER, 5), true],
      [() => h.queryExiting(6), false],
      [() => h.dragBegin(6, text('x')), false],
    ];
    for (const [wrong, priv] of cases) {
      h.guest.offer([{ path: '/x' }], { totalBytes: 1 });
      await h.queryExiting(5);
      if (priv) await h.cmd(Cmd.DND_PRIV_DRAG_ENTER, 5);
      h.fresh();
      await wrong();
      expect(h.guest.state).toBe('ready');
      expect(h.events.at(-1)).toEqual(['offer-cancelled', expect.objectContaining({ code: 'protocol' })]);
      expect(h.fresh()).toEqual([]);
    }
    expect(h.guest.stats.resets).toBe(4);
  });

  it('destination messages with no drag of the offer, source messages during one: ignored', async () => {
    const h = await host();
    for (const c of [
      Cmd.DND_DEST_DROP,
      Cmd.DND_DEST_CANCEL,
      Cmd.DND_PRIV_DRAG_ENTER,
      Cmd.DND_PRIV_DROP,
      Cmd.DND_DEST_DRAG_ENTER_REPLY,
    ])
      await h.cmd(c, 1);
    h.guest.offer([{ path: '/x' }], { totalBytes: 1 });
    await h.queryExiting(5);
    for (const c of [Cmd.DND_SRC_DROP, Cmd.DND_SRC_CANCEL, Cmd.DND_GET_FILES_DONE, Cmd.DND_MOVE_MOUSE])
      await h.cmd(c, 5);
    expect(h.guest.state).toBe('offering');
    expect(h.guest.stats).toMatchObject({ ignored: 9, resets: 0 });
  });

  it('withdraw() and cancel() at every state; offer() replaces', async () => {
    const h = await host();
    const a = h.guest.offer([{ path: '/a' }], { totalBytes: 1 });
    h.guest.withdraw();
    expect(h.events.at(-1)).toEqual([
      'offer-cancelled',
      { offerId: a, code: 'local-cancel', reason: 'withdrawn' },
    ]);
    h.guest.withdraw();
    expect(h.events).toHaveLength(1);

    const b = h.guest.offer([{ path: '/b' }], { totalBytes: 1 });
    const c = h.guest.offer([{ path: '/c' }], { totalBytes: 1 });
    expect(h.events.at(-1)).toEqual([
      'offer-cancelled',
      expect.objectContaining({ offerId: b, code: 'replaced' }),
    ]);
    // cancel() leaves an armed offer alone.
    h.guest.cancel();
    expect(h.guest.currentOffer()?.offerId).toBe(c);

    for (const state of ['query-exiting', 'offering', 'priv-dragging'] as const) {
      for (const how of ['withdraw', 'cancel'] as const) {
        const id = h.guest.offer([{ path: '/d' }], { totalBytes: 1 });
        const end = () => (how === 'withdraw' ? h.guest.withdraw() : h.guest.cancel());
        if (state === 'query-exiting')
          h.duringRpci = () => {
            expect(h.guest.state).toBe('query-exiting');
            end();
          };
        await h.queryExiting(5);
        if (state === 'priv-dragging') await h.cmd(Cmd.DND_PRIV_DRAG_ENTER, 5);
        if (state !== 'query-exiting') {
          expect(h.guest.state).toBe(state);
          end();
        }
        expect(h.guest.state).toBe('ready');
        expect(h.events.at(-1)).toEqual([
          'offer-cancelled',
          expect.objectContaining({ offerId: id, code: 'local-cancel' }),
        ]);
        expect(h.guest.currentOffer()).toBeUndefined();
      }
    }
    expect(h.names().filter((n) => n === 'offer-entered')).toHaveLength(4);
    // offer() during a drag of the offer ends that drag.
    const e = h.guest.offer([{ path: '/e' }], { totalBytes: 1 });
    await h.queryExiting(5);
    const f = h.guest.offer([{ path: '/f' }], { totalBytes: 1 });
    expect(h.guest.state).toBe('ready');
    expect(h.events.at(-1)).toEqual([
      'offer-cancelled',
      expect.objectContaining({ offerId: e, code: 'replaced' }),
    ]);
    expect(h.guest.currentOffer()?.offerId).toBe(f);
  });

  it('no DEST_DROP or DEST_CANCEL within offerMs (HGFS reads re-arm it) cancels the drag', async () => {
    const h = await host();
    const id = h.guest.offer([{ path: '/x' }], { totalBytes: 1 });
    await h.queryExiting(5);
    h.clock.advance(1999);
    h.guest.transferActivity(1);
    h.clock.advance(1999);
    expect(h.guest.state).toBe('offering');
    h.clock.advance(1);
    expect(h.events.at(-1)).toEqual([
      'offer-cancelled',
      expect.objectContaining({ offerId: id, code: 'timeout' }),
    ]);
    expect(h.guest.state).toBe('ready');
  });

  it('a file list over 65380 bytes goes out in slices (REQUEST_NEXT)', async () => {
    const h = await host();
    const files = Array.from({ length: 1500 }, (_, i) => ({ path: `/data/${'d'.repeat(40)}/file-${i}.bin` }));
    h.guest.offer(files, { totalBytes: 1500 * 1024 });
    await h.queryExiting(9);
    const [enter] = h.fresh();
    expect(enter?.binary.length).toBeGreaterThan(DNDCP_PAYLOAD_MAX * 2);
    expect(entered(enter).list.relNames).toHaveLength(1500);
    expect(h.guest.stats.requestNextIn).toBeGreaterThanOrEqual(2);
    expect(h.guest.state).toBe('offering');
  });

  it('offer() refuses what cannot be sent', () => {
    const h = new FakeDndHost();
    expect(() => h.guest.offer([], { totalBytes: 0 })).toThrow(DndCpEncodeError);
    expect(() => h.guest.offer([{ path: 'rel/x' }], { totalBytes: 0 })).toThrow(DndCpEncodeError);
    expect(() => h.guest.offer([{ path: '/' }], { totalBytes: 0 })).toThrow(DndCpEncodeError);
    expect(() => h.guest.offer([{ path: '/a\0b' }], { totalBytes: 0 })).toThrow(DndCpEncodeError);
    expect(() => h.guest.offer([{ path: '/a' }], { totalBytes: -1 })).toThrow(DndCpEncodeError);
    expect(() => h.guest.offer([{ path: '/a' }], { totalBytes: 1.5 })).toThrow(DndCpEncodeError);
    const huge = Array.from({ length: 20_000 }, (_, i) => ({ path: `/${'x'.repeat(100)}/${i}` }));
    expect(() => h.guest.offer(huge, { totalBytes: 0 })).toThrow(DndCpLimitError);
    expect(h.guest.currentOffer()).toBeUndefined();
  });

  it('the clipboard it sends is the one encodeClipboard gives for the same items', async () => {
    const h = await host();
    h.guest.offer([{ path: '/a' }], { totalBytes: 0 });
    await h.queryExiting(1);
    const [enter] = h.fresh();
    expect(encodeClipboard(decodeClipboard(enter?.binary as Buffer))).toEqual(enter?.binary);
  });
});
