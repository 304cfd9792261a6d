// Byte-exact vectors of docs/protocol/dndcp.md §6.4 (the worked example) and §6.1.
import { describe, expect, it } from 'vitest';
import {
  Cmd,
  CpFormat,
  DNDCP_HEADER_SIZE,
  DndCpEndpoint,
  decodeClipboard,
  decodePacket,
  encodeClipboard,
  encodeTransport,
  NOT_CHANGED_CLIPBOARD,
  textItem,
} from '../src/index.js';
import { CP_WORD, HI_CLIPBOARD, hex, SEND_CLIPBOARD_7_HEADER } from './vectors.js';

describe('golden vectors', () => {
  it('the "hi" clipboard is 58 bytes, and decodes back', () => {
    expect(HI_CLIPBOARD).toHaveLength(58);
    const c = { items: new Map([[CpFormat.TEXT as 1, textItem('hi')]]), changed: true };
    expect(encodeClipboard(c).equals(HI_CLIPBOARD)).toBe(true);
    expect(decodeClipboard(HI_CLIPBOARD)).toEqual(c);
  });

  it('the "not changed" clipboard is 55 bytes: 11, fifty zeros, changed 0', () => {
    expect(NOT_CHANGED_CLIPBOARD.equals(hex(`0b000000${'00'.repeat(50)}00`))).toBe(true);
    expect(NOT_CHANGED_CLIPBOARD).toHaveLength(55);
    expect(decodeClipboard(NOT_CHANGED_CLIPBOARD)).toEqual({ items: new Map(), changed: false });
  });

  it('a guest endpoint writes SEND_CLIPBOARD session 7 with the 56-byte header of the example', async () => {
    expect(SEND_CLIPBOARD_7_HEADER).toHaveLength(DNDCP_HEADER_SIZE);
    const sent: Buffer[] = [];
    const ep = new DndCpEndpoint({ role: 'guest', channel: 'cp', send: (p) => void sent.push(p) });
    await ep.sendMessage({
      cmd: Cmd.CP_SEND_CLIPBOARD,
      sessionId: 7,
      params: [4, 0, 0, 0],
      binary: HI_CLIPBOARD,
    });
    expect(sent).toHaveLength(1);
    expect(sent[0]?.subarray(0, 56).equals(SEND_CLIPBOARD_7_HEADER)).toBe(true);
    const rpci = encodeTransport('cp', sent[0] as Buffer);
    expect(rpci).toHaveLength(134);
    expect(rpci.equals(Buffer.concat([CP_WORD, SEND_CLIPBOARD_7_HEADER, HI_CLIPBOARD]))).toBe(true);
    expect(decodePacket(sent[0] as Buffer).header).toMatchObject({
      cmd: 2003,
      type: 3,
      src: 2,
      sessionId: 7,
    });
  });

  it('the host build writes type 1 and src 2 (cp) / 1 (dnd)', async () => {
    for (const [channel, src] of [
      ['cp', 2],
      ['dnd', 1],
    ] as const) {
      const sent: Buffer[] = [];
      const ep = new DndCpEndpoint({ role: 'host', channel, send: (p) => void sent.push(p) });
      await ep.sendMessage({ cmd: Cmd.CP_RECV_CLIPBOARD, sessionId: 1 });
      expect(decodePacket(sent[0] as Buffer).header).toMatchObject({ type: 1, src });
    }
  });
});
