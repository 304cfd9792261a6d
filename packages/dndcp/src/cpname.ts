// Guest paths as the host is told them: the cross-platform name (CPName) in the guest HGFS
// server's one share, `root` (docs/protocol/dndcp.md §9.2).

import { isUtf8 } from 'node:buffer';
import { DndCpDecodeError, DndCpEncodeError } from './errors.js';

/** The share the guest's HGFS server serves the whole file system as (§9.2). */
export const GUEST_ROOT_SHARE = 'root';

/**
 * CPNameUtil_ConvertToRoot for a Linux guest: `root`, NUL, then the path's components separated
 * by NUL, without a trailing NUL; empty components (leading, doubled and trailing `/`) dropped.
 * `/tmp/VMwareDnD/abc/` → `root\0tmp\0VMwareDnD\0abc` (24 bytes). `/` alone gives `root\0`
 * (5 bytes), as the C function does. Names are not escaped (docs/protocol/hgfs.md §4.3).
 * Throws DndCpEncodeError for a relative path or a NUL in it.
 */
export function cpNameOfPath(path: string): Buffer {
  if (!path.startsWith('/')) throw new DndCpEncodeError('path', `${JSON.stringify(path)} is not absolute`);
  if (path.includes('\0')) throw new DndCpEncodeError('path', `${JSON.stringify(path)} contains a NUL`);
  const parts = path.split('/').filter((c) => c !== '');
  return Buffer.from([GUEST_ROOT_SHARE, ...parts].join('\0') + (parts.length === 0 ? '\0' : ''), 'utf8');
}

/**
 * The absolute guest path a `root` CPName names (the inverse of cpNameOfPath). Throws
 * DndCpDecodeError when the share is not `root`, a component is empty, `.` or `..`, or the bytes
 * are not UTF-8.
 */
export function pathOfCpName(cpName: Uint8Array): string {
  const b = Buffer.from(cpName.buffer, cpName.byteOffset, cpName.length);
  if (!isUtf8(b)) throw new DndCpDecodeError('cpName', 'not valid UTF-8', 0);
  const s = b.toString('utf8');
  const [share, ...parts] = s.split('\0');
  if (share !== GUEST_ROOT_SHARE)
    throw new DndCpDecodeError('cpName', `share ${JSON.stringify(share)}, not ${GUEST_ROOT_SHARE}`, 0);
  if (parts.length === 1 && parts[0] === '') return '/';
  for (const p of parts)
    if (p === '' || p === '.' || p === '..')
      throw new DndCpDecodeError('cpName', `component ${JSON.stringify(p)} in ${JSON.stringify(s)}`);
  return `/${parts.join('/')}`;
}
