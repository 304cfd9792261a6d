/** The GuestRPC facts both sides share: protocol numbers spell their names; reset replies round-trip. */
import { describe, expect, it } from 'vitest';
import {
  COOKIE_FLAG,
  PROTOCOL_RPCI,
  PROTOCOL_TCLO,
  resetReply,
  resetReplyApp,
  TCLO_SUCCESS,
  TcloCommand,
} from '../src/index.js';

const ascii = (n: number): string => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b.toString('latin1');
};

describe('GuestMsg protocol facts', () => {
  it('the protocol numbers are their names as little-endian dwords, below the cookie flag', () => {
    expect(ascii(PROTOCOL_RPCI)).toBe('RPCI');
    expect(ascii(PROTOCOL_TCLO)).toBe('TCLO');
    expect(PROTOCOL_RPCI & COOKIE_FLAG).toBe(0);
    expect(PROTOCOL_TCLO & COOKIE_FLAG).toBe(0);
  });
});

describe('TCLO reset reply', () => {
  it('an app names itself with ATR, and the host reads the name back from the whole reply', () => {
    expect(resetReply('toolbox')).toBe('ATR toolbox');
    expect(resetReplyApp(`${TCLO_SUCCESS}${resetReply('toolbox-dnd')}`)).toBe('toolbox-dnd');
    expect(resetReplyApp('OK ATR toolbox extra')).toBe('toolbox');
    expect(resetReplyApp('ERROR ATR toolbox')).toBeUndefined();
    expect(resetReplyApp('OK ')).toBeUndefined();
  });

  it('the handshake commands are the ones open-vm-tools registers', () => {
    expect(Object.values(TcloCommand)).toEqual(['reset', 'ping', 'Capabilities_Register', 'Set_Option']);
  });
});
