/**
 * The one dial-string parser of vmw9: what ninep's servers and clients accepted (bare HOST and
 * HOST!PORT with 564, tcp!PORT for loopback, `9fs`) and what vmx-sim's parser accepted (`!` inside
 * unix paths, only the first one separates) both hold; callers that need the network spelled out
 * say `bare: false`.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DialError, dialNet, formatDial, isLocalOnly, parseDial, parseDialOrPath } from '../src/dial.js';

describe('parseDial', () => {
  it('unix!PATH: the path is everything after the first "!"', () => {
    expect(parseDial('unix!/run/vmw9/vmware.sock')).toEqual({ net: 'unix', path: '/run/vmw9/vmware.sock' });
    expect(parseDial('unix!/a!b')).toEqual({ net: 'unix', path: '/a!b' });
    expect(parseDial('unix!/tmp/x!y!z', { bare: false })).toEqual({ net: 'unix', path: '/tmp/x!y!z' });
    expect(parseDial('unix!relative.sock')).toEqual({ net: 'unix', path: 'relative.sock' });
  });

  it('tcp!HOST!PORT, net! read as tcp, * as every interface, 9fs as 564', () => {
    expect(parseDial('tcp!h!564')).toEqual({ net: 'tcp', host: 'h', port: 564 });
    expect(parseDial('net!10.0.0.1!5640')).toEqual({ net: 'tcp', host: '10.0.0.1', port: 5640 });
    expect(parseDial('tcp!*!5640')).toEqual({ net: 'tcp', host: '0.0.0.0', port: 5640 });
    expect(parseDial('tcp!h!9fs')).toEqual({ net: 'tcp', host: 'h', port: 564 });
    expect(parseDial('tcp!h!0')).toEqual({ net: 'tcp', host: 'h', port: 0 });
  });

  it('tcp!PORT is loopback (for servers)', () => {
    expect(parseDial('tcp!5640')).toEqual({ net: 'tcp', host: '127.0.0.1', port: 5640 });
    expect(parseDial('tcp!0', { bare: false })).toEqual({ net: 'tcp', host: '127.0.0.1', port: 0 });
  });

  it('bare HOST and HOST!PORT dial tcp, 564 by default, as plan9port does', () => {
    expect(parseDial('host')).toEqual({ net: 'tcp', host: 'host', port: 564 });
    expect(parseDial('host!5640')).toEqual({ net: 'tcp', host: 'host', port: 5640 });
  });

  it('a bare path is a Unix socket, with or without the bare forms (no host name has a /)', () => {
    for (const bare of [true, false]) {
      expect(parseDial('/tmp/x.sock', { bare })).toEqual({ net: 'unix', path: '/tmp/x.sock' });
      expect(parseDial('./x!y.sock', { bare })).toEqual({ net: 'unix', path: './x!y.sock' });
    }
  });

  it('bare: false refuses the forms without a network', () => {
    for (const s of ['host', 'host!5640', '5640']) {
      const e = errorOf(() => parseDial(s, { bare: false }));
      expect(e.dial).toBe(s);
      expect(e.message).toMatch(/expected unix!PATH or tcp!HOST!PORT/);
    }
  });

  it('refuses bad strings with a typed error naming the string and what is wrong', () => {
    expect(() => parseDial('tcp!h!99999')).toThrow(/port "99999" is not 0\.\.65535/);
    expect(() => parseDial('tcp!h!-1')).toThrow(/port/);
    expect(() => parseDial('tcp!h!0x10')).toThrow(/port/);
    expect(() => parseDial('tcp!h!')).toThrow(/port/);
    expect(() => parseDial('tcp!')).toThrow(/port/);
    expect(() => parseDial('tcp!!5640')).toThrow(/tcp!HOST!PORT/);
    expect(() => parseDial('tcp!a!b!5640')).toThrow(/tcp!HOST!PORT/);
    expect(() => parseDial('udp!x!1')).toThrow(/expected/);
    expect(() => parseDial('')).toThrow(/expected/);
    const e = errorOf(() => parseDial('unix!'));
    expect(e).toBeInstanceOf(DialError);
    expect(e.name).toBe('DialError');
    expect(e.dial).toBe('unix!');
    expect(e.reason).toBe('unix needs a path (unix!PATH)');
    expect(e.message).toBe('dial string "unix!": unix needs a path (unix!PATH)');
  });
});

describe('formatDial', () => {
  it('writes what parseDial reads', () => {
    for (const s of ['unix!/a!b', 'tcp!h!564', 'tcp!127.0.0.1!0']) expect(formatDial(parseDial(s))).toBe(s);
    expect(formatDial({ net: 'tcp', host: '0.0.0.0', port: 1 })).toBe('tcp!0.0.0.0!1');
  });
});

describe('dialNet and parseDialOrPath', () => {
  it('dialNet reads only the prefix', () => {
    expect(dialNet('unix!')).toBe('unix');
    expect(dialNet('tcp!x')).toBe('tcp');
    expect(dialNet('net!x!1')).toBe('tcp');
    expect(dialNet('/run/x.sock')).toBeUndefined();
    expect(dialNet('unix')).toBeUndefined();
  });

  it('a string with a network is a dial string; anything else is a socket path', () => {
    expect(parseDialOrPath('unix!/a!b')).toEqual({ net: 'unix', path: '/a!b' });
    expect(parseDialOrPath('/run/vmw9/vmware.sock')).toEqual({ net: 'unix', path: '/run/vmw9/vmware.sock' });
    expect(parseDialOrPath('/tmp/a!b')).toEqual({ net: 'unix', path: '/tmp/a!b' });
    expect(parseDialOrPath('tcp!h!1')).toEqual({ net: 'tcp', host: 'h', port: 1 });
    expect(() => parseDialOrPath('')).toThrow(DialError);
    expect(() => parseDialOrPath('unix!')).toThrow(DialError);
  });
});

it('the module imports nothing, so ninep/dial loads none of the rest of ninep', () => {
  const src = readFileSync(new URL('../src/dial.ts', import.meta.url), 'utf8');
  expect(src).not.toMatch(/^\s*import\s/m);
  expect(src).not.toMatch(/\bimport\(/);
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  expect(pkg.exports['./dial']).toEqual({ types: './dist/dial.d.ts', default: './dist/dial.js' });
});

function errorOf(f: () => unknown): DialError {
  try {
    f();
  } catch (e) {
    if (e instanceof DialError) return e;
    throw e;
  }
  throw new Error('no error');
}

describe('isLocalOnly', () => {
  it('is true for Unix sockets and loopback TCP, false for any other host', () => {
    for (const s of [
      'unix!/x',
      '/run/x.sock',
      'tcp!127.0.0.1!1',
      'tcp!127.5.0.9!1',
      'tcp!localhost!1',
      'tcp!5640',
    ])
      expect(isLocalOnly(parseDial(s))).toBe(true);
    for (const s of ['tcp!0.0.0.0!1', 'tcp!*!1', 'tcp!10.0.0.1!1', 'tcp!example.org!1', 'tcp!128.0.0.1!1'])
      expect(isLocalOnly(parseDial(s))).toBe(false);
  });
});
