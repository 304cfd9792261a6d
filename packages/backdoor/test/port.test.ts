import { describe, expect, it } from 'vitest';
import {
  BDOOR_MAGIC,
  BDOOR_PORT,
  backdoorCall,
  callRegisters,
  checkHbBuffer,
  checkRegisters,
  formatRegisters,
  HB_MAX_BYTES,
  maskRegisters,
} from '../src/index.js';
import { FakeHost } from './fake-host.js';

const regs = { eax: 1, ebx: 2, ecx: 3, edx: 4, esi: 5, edi: 6, ebp: 7 };

describe('register checks', () => {
  it('accepts uint32 values at both ends', () => {
    expect(checkRegisters({ ...regs, eax: 0, ebp: 0xffffffff })).toBeTruthy();
  });

  it.each([
    ['negative', -1],
    ['2^32', 0x100000000],
    ['fraction', 1.5],
    ['NaN', Number.NaN],
    ['string', '1'],
    ['bigint', 1n],
    ['missing', undefined],
  ])('rejects a %s register with a TypeError naming it', (_, bad) => {
    expect(() => checkRegisters({ ...regs, edi: bad })).toThrow(TypeError);
    expect(() => checkRegisters({ ...regs, edi: bad })).toThrow(/registers\.edi/);
  });

  it('rejects a non-object', () => {
    expect(() => checkRegisters(null)).toThrow(TypeError);
  });

  it('masks answers to 32 bits', () => {
    expect(maskRegisters({ ...regs, eax: 2 ** 40 + 5, ebx: -1 })).toMatchObject({ eax: 5, ebx: 0xffffffff });
  });

  it('formats registers in hex', () => {
    expect(formatRegisters({ ...regs, eax: BDOOR_MAGIC })).toMatch(/^eax=564d5868 ebx=00000002/);
  });

  it('refuses an HB buffer over the limit and a non-buffer', () => {
    expect(() => checkHbBuffer(new Uint8Array(HB_MAX_BYTES + 1), 'data')).toThrow(/over the/);
    expect(() => checkHbBuffer([1, 2, 3], 'data')).toThrow(TypeError);
    expect(checkHbBuffer(Buffer.alloc(4), 'data').byteLength).toBe(4);
  });
});

describe('call building', () => {
  it('packs magic, command, subcommand and port', () => {
    const r = callRegisters(30, { sub: 3, edxHi: 7, ebx: 9, esi: 10, edi: 11 });
    expect(r).toEqual({
      eax: BDOOR_MAGIC,
      ebx: 9,
      ecx: (3 << 16) | 30,
      edx: (7 << 16) | BDOOR_PORT,
      esi: 10,
      edi: 11,
      ebp: 0,
    });
  });

  it('checks every argument before anything reaches the port', async () => {
    const host = new FakeHost();
    await expect(backdoorCall(host, 10, { ebx: -1 })).rejects.toThrow(TypeError);
    await expect(backdoorCall(host, 0x10000)).rejects.toThrow(/16 bits/);
    await expect(backdoorCall(host, 10, { sub: 0x10000 })).rejects.toThrow(/16 bits/);
    await expect(backdoorCall(host, 10, { edxHi: 0x10000 })).rejects.toThrow(/16 bits/);
    expect(host.calls).toHaveLength(0);
  });
});
