/**
 * Disk usage for SetGuestDiskInfo (open-vm-tools' disk info v1 JSON): each mounted filesystem
 * that stores data, measured with statfs. Pseudo and container filesystems are left out: the host
 * wants the VM's disks, not /proc or an overlay's view of them.
 */
import { readFile, statfs } from 'node:fs/promises';

export interface DiskUsage {
  name: string;
  freeBytes: number;
  totalBytes: number;
}

export const PSEUDO_FS = new Set([
  'proc',
  'sysfs',
  'devtmpfs',
  'devpts',
  'tmpfs',
  'cgroup',
  'cgroup2',
  'securityfs',
  'debugfs',
  'tracefs',
  'pstore',
  'bpf',
  'mqueue',
  'hugetlbfs',
  'autofs',
  'configfs',
  'fusectl',
  'binfmt_misc',
  'overlay',
  'squashfs',
  'nsfs',
  'ramfs',
  'rpc_pipefs',
  'efivarfs',
  'selinuxfs',
  '9p',
  'nfsd',
]);

/** Mounts from /proc/self/mounts text: device, mount point, type (octal escapes undone). */
export function parseMounts(text: string): Array<{ device: string; dir: string; type: string }> {
  const unoctal = (s: string) =>
    s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
  return text
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => f.length >= 3)
    .map(([device, dir, type]) => ({ device: unoctal(device!), dir: unoctal(dir!), type: type! }));
}

export async function diskUsage(mountsPath = '/proc/self/mounts'): Promise<DiskUsage[]> {
  let text: string;
  try {
    text = await readFile(mountsPath, 'utf8');
  } catch {
    return [];
  }
  const seen = new Set<string>();
  const out: DiskUsage[] = [];
  for (const m of parseMounts(text)) {
    if (PSEUDO_FS.has(m.type) || m.type.startsWith('fuse.') || seen.has(m.device)) continue;
    seen.add(m.device);
    try {
      const s = await statfs(m.dir);
      if (s.blocks === 0) continue;
      out.push({ name: m.dir, freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize });
    } catch {
      // unreadable mount point (permissions, a stale network mount): not reported
    }
  }
  return out;
}

/** The JSON of SetGuestDiskInfo (guestInfoServer.c, disk info version 1). */
export function diskInfoJson(disks: readonly DiskUsage[]): string {
  return JSON.stringify({
    version: '1',
    disks: disks.map((d) => ({ name: d.name, free: String(d.freeBytes), size: String(d.totalBytes) })),
  });
}
