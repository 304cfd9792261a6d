/**
 * The console's `clip` commands: the host clipboard in every format, which protocol moved it last,
 * and the host's two copy/paste gestures (docs/protocol/dndcp.md, "Host side"): the user entering
 * the VM window (the host pushes its clipboard) and leaving it (the host asks for the guest's).
 */
import { isUtf8 } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { CpFormat, type CpFormatId, itemText, textItem } from '@vmw9/dndcp';
import type { VmxHost } from '../host.js';
import { CONSOLE_FORMATS, type HostClipboard, shortFormatName } from './clipboard.js';

export const CLIP_HELP = `  clip                     the host clipboard: every format, and which protocol moved it last
  clip set TEXT…           set the host clipboard to text; pushed to a version 4 guest at once, or when one negotiates
  clip set-file FORMAT PATH   the same with a file's bytes (FORMAT: ${Object.keys(CONSOLE_FORMATS).join('|')})
  clip push                push the host clipboard again (the user entering the VM window)
  clip request             ask the guest for its clipboard (the user leaving the VM window)
  clip raw HEX             send one copy/paste packet as given (tests of a guest's checks)`;

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function clipCommand(host: VmxHost, args: string[], line: string): string {
  const [sub] = args;
  const cp = host.copyPaste;
  switch (sub) {
    case undefined:
      return describe(host);
    case 'set': {
      const text = line.trim().replace(/^clip\s+set\s?/, '');
      const session = host.copyPaste.setClipboard(
        { items: text ? new Map([[CpFormat.TEXT, textItem(text)]]) : new Map(), changed: true },
        'console',
      );
      return `host clipboard: ${Buffer.byteLength(text)} bytes${pushNote(session)}`;
    }
    case 'set-file': {
      const m = /^\s*clip\s+set-file\s+(\S+)\s+(.+?)\s*$/.exec(line);
      const format = m ? CONSOLE_FORMATS[m[1]!.toLowerCase()] : undefined;
      if (!m || format === undefined)
        return `error: clip set-file FORMAT PATH (FORMAT: ${Object.keys(CONSOLE_FORMATS).join('|')})`;
      const data = readFileSync(m[2]!);
      const item = fileItem(format, data, m[2]!);
      const session = cp.setClipboard({ items: new Map([[format, item]]), changed: true }, 'console');
      return `host clipboard: ${shortFormatName(format)} ${data.length} bytes from ${m[2]}${pushNote(session)}`;
    }
    case 'push':
      if (!cp.active) return 'error: no guest has negotiated copy/paste version 4';
      return `pushed the host clipboard (session ${cp.push()})`;
    case 'request': {
      if (!cp.active) return 'error: no guest has negotiated copy/paste version 4';
      // The answer arrives later; `clip` shows what it did to the host clipboard.
      const { sessionId, answer } = cp.ask();
      answer.catch(() => {});
      return `asked the guest for its clipboard (session ${sessionId})`;
    }
    case 'raw': {
      const hex = args.slice(1).join('');
      if (!hex || !/^([0-9a-fA-F]{2})+$/.test(hex))
        return 'error: clip raw HEX (an even number of hex digits)';
      const packet = Buffer.from(hex, 'hex');
      cp.sendPacket(packet);
      return `sent a ${packet.length}-byte packet on copypaste.transport`;
    }
    default:
      return 'error: clip | clip set TEXT… | clip set-file FORMAT PATH | clip push | clip request | clip raw HEX';
  }
}

function pushNote(session: number | undefined): string {
  if (session !== undefined) return `; pushed to the guest (session ${session})`;
  return '; pushed when a guest negotiates copy/paste version 4';
}

/** A file's bytes as the clipboard item of `format`, refusing what a guest could not take. */
function fileItem(format: CpFormatId, data: Buffer, path: string): Buffer {
  if (format === CpFormat.TEXT) {
    // A guest refuses a whole clipboard whose text is not UTF-8 (docs/protocol/dndcp.md §5.1).
    if (!isUtf8(data)) throw new Error(`${path} is not UTF-8 text`);
    return textItem(data);
  }
  if (format === CpFormat.IMG_PNG && !data.subarray(0, 8).equals(PNG_SIGNATURE))
    throw new Error(`${path} is not a PNG file (no PNG signature)`);
  return data;
}

/** One line per format (text in full, JSON-quoted), who moved it last, and the protocols' state. */
export function describe(host: VmxHost): string {
  const lines = formatLines(host.clipboard);
  const move = host.clipboard.lastMove;
  if (move)
    lines.push(
      `moved last by ${move.by}${move.sessionId !== undefined ? ` (session ${move.sessionId})` : ''} at ${new Date(move.at).toISOString()}`,
    );
  lines.push(protocolsLine(host));
  return lines.join('\n');
}

export function formatLines(c: HostClipboard): string[] {
  const formats = c.formats();
  if (!formats.length) return ['(empty)'];
  return formats.map(([f, data]) =>
    f === CpFormat.TEXT
      ? `text ${data.length} bytes ${JSON.stringify(itemText(data).toString('utf8'))}`
      : `${shortFormatName(f)} ${data.length} bytes`,
  );
}

export function protocolsLine(host: VmxHost): string {
  const n = host.copyPaste.negotiated;
  const v4 = n
    ? `copy/paste version ${n.version} (guest caps 0x${n.guestCaps.toString(16)}, accepted 0x${n.caps.toString(16)})`
    : 'no guest has negotiated copy/paste version 4';
  const pending = !n && host.copyPaste.pushPending ? '; a push is waiting for one' : '';
  return `${v4}${pending}; legacy clipboard ${host.legacyClipboard ? 'offered' : 'refused'}`;
}
