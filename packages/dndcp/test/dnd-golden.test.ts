// Byte-exact vectors of docs/protocol/dndcp.md §9.6: what DndGuest sends for a drop's staging
// directory and for an offer of one file, checked against bytes written out by hand.
import { describe, expect, it } from 'vitest';
import {
  cpNameOfPath,
  decodeClipboard,
  decodeFileList,
  encodeFileList,
  encodeUriFileList,
} from '../src/index.js';
import { FakeDndHost } from './fake-dnd-host.js';
import {
  A_TXT_CLIPBOARD,
  A_TXT_FILELIST,
  A_TXT_URI_FILELIST,
  DEST_DRAG_ENTER_5_HEADER,
  DND_WORD,
  filesClipboardBytes,
  SRC_DROP_DONE_9_HEADER,
  STAGING_CPNAME,
} from './vectors.js';

async function enabled(): Promise<FakeDndHost> {
  const h = new FakeDndHost();
  await h.guest.enable();
  return h;
}

describe('drag-and-drop golden vectors', () => {
  it('the staging directory /tmp/VMwareDnD/XXXXXX/ is the 25-byte CPName root\\0tmp\\0VMwareDnD\\0XXXXXX', () => {
    expect(STAGING_CPNAME).toHaveLength(25);
    expect(cpNameOfPath('/tmp/VMwareDnD/XXXXXX/').equals(STAGING_CPNAME)).toBe(true);
  });

  it('SRC_DROP_DONE session 9: the whole RPCI is the word, the 56-byte header and the CPName', async () => {
    const h = await enabled();
    h.staging.path = '/tmp/VMwareDnD/XXXXXX/';
    await h.send({ cmd: 1005, sessionId: 9, params: [4, 0], binary: filesClipboardBytes });
    await h.drop(9);
    const rpci = h.rpci.at(-1) as Buffer;
    expect(rpci.equals(Buffer.concat([DND_WORD, SRC_DROP_DONE_9_HEADER, STAGING_CPNAME]))).toBe(true);
    expect(rpci).toHaveLength(14 + 56 + 25);
  });

  it('the FILELIST and FILELIST_URI of /home/u/a.txt', () => {
    const list = { totalSize: 5n, relNames: ['a.txt'], fullPaths: [cpNameOfPath('/home/u/a.txt')] };
    expect(encodeFileList(list).equals(A_TXT_FILELIST)).toBe(true);
    expect(decodeFileList(A_TXT_FILELIST)).toEqual(list);
    expect(
      encodeUriFileList({ totalSize: 5n, uris: ['file:///home/u/a.txt'] }).equals(A_TXT_URI_FILELIST),
    ).toBe(true);
  });

  it('DEST_DRAG_ENTER session 5 offering /home/u/a.txt: the whole RPCI', async () => {
    const h = await enabled();
    h.guest.offer([{ path: '/home/u/a.txt' }], { totalBytes: 5 });
    await h.queryExiting(5);
    expect(A_TXT_CLIPBOARD).toHaveLength(131);
    const rpci = h.rpci.at(-1) as Buffer;
    expect(rpci.equals(Buffer.concat([DND_WORD, DEST_DRAG_ENTER_5_HEADER, A_TXT_CLIPBOARD]))).toBe(true);
    expect(decodeClipboard(A_TXT_CLIPBOARD).items.size).toBe(2);
  });
});
