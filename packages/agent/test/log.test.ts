/**
 * The log's two faces: JSON lines for machines, pino-pretty lines for people, chosen by whether
 * the destination is a terminal unless asked; kmesg and repeat suppression the same in both.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AgentLog, chooseLogFormat, defaultConfig, type LogOptions } from '../src/index.js';

afterEach(() => {
  vi.useRealTimers();
});

/** An AgentLog writing into an array, on a destination that is or is not a terminal. */
function capture(opts: LogOptions & { tty?: boolean } = {}) {
  const lines: string[] = [];
  const { tty, ...rest } = opts;
  const stream = { write: (l: string) => void lines.push(l), ...(tty === undefined ? {} : { isTTY: tty }) };
  return { log: new AgentLog({ colorize: false, ...rest, stream }), lines };
}

const isJson = (line: string) => {
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
};

describe('the format', () => {
  it('auto is pretty on a terminal and JSON elsewhere; json and pretty are what they say', () => {
    expect(chooseLogFormat('auto', true)).toBe('pretty');
    expect(chooseLogFormat('auto', false)).toBe('json');
    expect(chooseLogFormat(undefined, true)).toBe('pretty');
    expect(chooseLogFormat(undefined, false)).toBe('json');
    expect(chooseLogFormat('json', true)).toBe('json');
    expect(chooseLogFormat('pretty', false)).toBe('pretty');
    expect(defaultConfig().logging.format).toBe('auto');
  });

  it('by default follows the destination: a terminal gets pretty lines, anything else JSON', () => {
    expect(capture({ tty: true }).log.format).toBe('pretty');
    expect(capture({ tty: false }).log.format).toBe('json');
    expect(capture().log.format).toBe('json');
    expect(capture({ tty: true, format: 'json' }).log.format).toBe('json');
    expect(capture({ tty: false, format: 'pretty' }).log.format).toBe('pretty');
  });

  it('JSON: one parseable object per line, with the message and its fields', () => {
    const { log, lines } = capture({ format: 'json' });
    log.logger.info({ address: 'unix!/tmp/x.sock' }, 'serving the vmware tree');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: 30,
      msg: 'serving the vmware tree',
      address: 'unix!/tmp/x.sock',
    });
  });

  it('pretty: one readable line that is not JSON, with the level, the message and its fields', () => {
    const { log, lines } = capture({ format: 'pretty' });
    log.logger.warn({ address: 'unix!/tmp/x.sock' }, 'serving the vmware tree');
    expect(lines).toHaveLength(1);
    const line = lines[0]!;
    expect(isJson(line)).toBe(false);
    expect(line).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] WARN: serving the vmware tree /);
    expect(line).toContain('unix!/tmp/x.sock');
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1)).not.toContain('\n');
    // colorize: false was asked for: no escape sequences.
    expect(line).not.toContain('\x1b[');
  });

  it('pretty is coloured when asked', () => {
    const { log, lines } = capture({ format: 'pretty', colorize: true });
    log.logger.error('the host is gone');
    expect(lines[0]).toContain('\x1b[');
    expect(lines[0]).toContain('the host is gone');
  });
});

describe('kmesg and repeat suppression are the same in both formats', () => {
  /** The same messages, at the same (fake) times, through a log of the given format. */
  function session(format: 'json' | 'pretty') {
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-01-02T03:04:05.000Z') });
    const { log, lines } = capture({ format, repeatWindowMs: 1000 });
    for (let i = 0; i < 5; i++) log.logger.warn({ err: 'x' }, 'the host is gone');
    log.logger.info({ app: 'toolbox' }, 'host reset');
    vi.setSystemTime(new Date('2026-01-02T03:04:07.000Z'));
    log.logger.warn({ err: 'x' }, 'the host is gone');
    vi.useRealTimers();
    return { log, lines };
  }

  it('the ring is identical whatever the destination gets', () => {
    const json = session('json');
    const pretty = session('pretty');
    expect(pretty.log.recent()).toBe(json.log.recent());
    expect(json.log.recent()).toBe(
      [
        '2026-01-02T03:04:05.000Z warn the host is gone err=x',
        '2026-01-02T03:04:05.000Z info host reset app=toolbox',
        '2026-01-02T03:04:07.000Z warn the host is gone err=x repeated=4',
        '',
      ].join('\n'),
    );
  });

  it('repeats within the window are written once, then counted, in both formats', () => {
    const json = session('json');
    expect(json.lines).toHaveLength(3);
    expect(JSON.parse(json.lines[2]!)).toMatchObject({ msg: 'the host is gone', repeated: 4 });
    const pretty = session('pretty');
    expect(pretty.lines).toHaveLength(3);
    expect(pretty.lines[2]).toMatch(/WARN: the host is gone .*"repeated":4/);
  });
});
