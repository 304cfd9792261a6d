// open-vm-tools' name escaping (docs/protocol/hgfs.md §4.3), Linux rule set: the only character a
// Linux name cannot hold is '/', written as '!%'; a '%' that would otherwise read as the end of
// such a sequence is written ']%'. docs/protocol/hgfs.md §4.3 says who applies it and when.

const ILLEGAL = '/';
const SUBSTITUTE = '!';
const ESCAPE = '%';
const ESCAPE_SUBSTITUTE = ']';

/** Whether the '%' at `i` of `s` ends an escape sequence (HgfsIsEscapeSequence, non-Windows). */
function isEscapeSequence(s: ArrayLike<string>, i: number): boolean {
  if (s[i] !== ESCAPE || i === 0) return false;
  const before = s[i - 1];
  if (before === ESCAPE_SUBSTITUTE && i > 1) {
    const twoBefore = s[i - 2];
    if (twoBefore === ESCAPE_SUBSTITUTE || twoBefore === SUBSTITUTE) return true;
  }
  return before === SUBSTITUTE;
}

/**
 * HgfsEscape_Do for one name: makes a name that came over the wire legal as a Linux file name
 * ('/' → '!%', and ']%' for a '%' that already ends an escape sequence), reversibly.
 */
export function escapeName(wire: string): string {
  let out = '';
  for (let i = 0; i < wire.length; i++) {
    const c = wire[i]!;
    if (c === ILLEGAL) out += SUBSTITUTE + ESCAPE;
    else if (isEscapeSequence(wire, i)) out += ESCAPE_SUBSTITUTE + ESCAPE;
    else out += c;
  }
  return out;
}

/** HgfsEscape_Undo for one name: the inverse of escapeName (a local name back to the wire's). */
export function unescapeName(local: string): string {
  const s = local.split(''); // UTF-16 code units: every character involved is ASCII
  let i = s.indexOf(ESCAPE);
  while (i !== -1) {
    if (isEscapeSequence(s, i)) {
      s[i - 1] = s[i - 1] === SUBSTITUTE ? ILLEGAL : ESCAPE;
      s.splice(i, 1);
      i = s.indexOf(ESCAPE, i);
    } else {
      i = s.indexOf(ESCAPE, i + 1);
    }
  }
  return s.join('');
}
