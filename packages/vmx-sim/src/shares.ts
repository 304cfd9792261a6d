/**
 * The simulator's share options: `vmw9 sim --share NAME=DIR[:ro]` and VmxHost's `hgfs.shares`.
 * The share table itself is @vmw9/hgfs's HostShares (docs/protocol/hgfs.md, "Server role").
 */
import { checkShareName, ShareError } from '@vmw9/hgfs';

export interface ShareSpec {
  name: string;
  dir: string;
  readOnly: boolean;
}

/** Parses `NAME=DIR`, `NAME=DIR:ro` or `NAME=DIR:rw` (the `vmw9 sim --share` form). Throws ShareError. */
export function parseShareSpec(spec: string): ShareSpec {
  const eq = spec.indexOf('=');
  if (eq < 0) throw new ShareError(`a share is NAME=DIR or NAME=DIR:ro, got "${spec}"`);
  const name = spec.slice(0, eq);
  let dir = spec.slice(eq + 1);
  let readOnly = false;
  const mode = /:(ro|rw)$/.exec(dir);
  if (mode) {
    readOnly = mode[1] === 'ro';
    dir = dir.slice(0, -3);
  }
  checkShareName(name);
  if (!dir) throw new ShareError(`share "${name}" names no directory`);
  return { name, dir, readOnly };
}
