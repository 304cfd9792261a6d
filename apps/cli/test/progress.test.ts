import { describe, expect, it, vi } from 'vitest';
import { PROGRESS_DELAY_MS, Progress, size } from '../src/progress.js';

function terminal() {
  const written: string[] = [];
  return { written, sink: { isTTY: true, columns: 80, write: (s: string) => written.push(s) } };
}

describe('the progress bar of a transfer', () => {
  it('shows nothing for the first second, then one line redrawn in place, ended by a newline', () => {
    let t = 0;
    const term = terminal();
    const p = new Progress('docs/big.iso', 4 * 1024 * 1024, term.sink, () => t);
    p.add(1024 * 1024);
    t = PROGRESS_DELAY_MS - 1;
    p.add(1024 * 1024);
    expect(term.written).toEqual([]);
    t = PROGRESS_DELAY_MS;
    p.add(1024 * 1024);
    expect(term.written).toHaveLength(1);
    expect(term.written[0]).toMatch(
      /^\rdocs\/big\.iso \[#{18}\.{6}\] {2}75% 3\.0 MiB\/4\.0 MiB 3\.0 MiB\/s\x1b\[K$/,
    );
    t += 10; // redrawn at most every 100 ms
    p.add(1);
    expect(term.written).toHaveLength(1);
    p.finish();
    expect(term.written.slice(-1)).toEqual(['\n']);
  });

  it('a quick transfer prints nothing at all', () => {
    const term = terminal();
    const quick = new Progress('a', 10, term.sink, () => 0);
    quick.add(10);
    quick.finish();
    expect(term.written).toEqual([]);
  });

  it('for JSON output, or with standard error not a terminal, nothing is drawn however long it takes', () => {
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const tty = process.stderr.isTTY;
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      for (const [isTTY, json] of [
        [true, true],
        [false, false],
      ] as const) {
        process.stderr.isTTY = isTTY;
        const p = Progress.forTerminal('a', 10, json);
        vi.setSystemTime(Date.now() + 5000);
        p.add(5);
        p.finish();
      }
      expect(write).not.toHaveBeenCalled();
      // And on a terminal without --json, the same transfer is drawn (the check above can fail).
      process.stderr.isTTY = true;
      const shown = Progress.forTerminal('a', 10, false);
      vi.setSystemTime(Date.now() + 5000);
      shown.add(5);
      expect(write).toHaveBeenCalled();
    } finally {
      vi.useRealTimers();
      process.stderr.isTTY = tty;
      write.mockRestore();
    }
  });

  it('without a known size: bytes and rate only; sizes read as people read them', () => {
    const p = new Progress('stdin', undefined, undefined, () => 0);
    p.add(1536);
    expect(p.line(2000)).toBe('stdin 1.5 KiB 768 B/s');
    expect([size(512), size(3.4 * 1024), size(27 * 1024 * 1024), size(1.2 * 1024 ** 3)]).toEqual([
      '512 B',
      '3.4 KiB',
      '27.0 MiB',
      '1.20 GiB',
    ]);
  });
});
