/**
 * Shell-style globs for interface names (`docker*`, `veth?`, `eth[0-3]`): what tools.conf's
 * exclude-nics takes. Compiled once to anchored regular expressions.
 */

/** Thrown by compileGlob with the reason; config.ts adds the file and line. */
export class BadGlob extends Error {
  override readonly name = 'BadGlob';
}

export function compileGlob(pattern: string): RegExp {
  if (pattern === '') throw new BadGlob('an empty pattern');
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) throw new BadGlob(`"${pattern}": "[" without a closing "]"`);
      let body = pattern.slice(i + 1, end);
      if (body.startsWith('!')) body = `^${body.slice(1)}`;
      if (/[\\[]/.test(body)) throw new BadGlob(`"${pattern}": "[" or "\\" inside a character class`);
      re += `[${body}]`;
      i = end;
    } else if (c === ']') throw new BadGlob(`"${pattern}": "]" without an opening "["`);
    else if (/[\s,]/.test(c)) throw new BadGlob(`"${pattern}": blanks or commas inside a pattern`);
    else re += c.replace(/[.+^${}()|\\/]/g, '\\$&');
  }
  return new RegExp(`${re}$`);
}

/** A list of globs matched as one. */
export class GlobList {
  private readonly res: RegExp[];
  constructor(readonly patterns: readonly string[]) {
    this.res = patterns.map(compileGlob);
  }
  get empty(): boolean {
    return this.res.length === 0;
  }
  matches(name: string): boolean {
    return this.res.some((r) => r.test(name));
  }
  /** The index of the first pattern that matches (for ordering by primary-nics), or -1. */
  indexOf(name: string): number {
    return this.res.findIndex((r) => r.test(name));
  }
}
