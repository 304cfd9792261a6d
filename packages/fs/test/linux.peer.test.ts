/**
 * The Linux kernel's 9P client (Debian 6.1 in the QEMU TCG guest) mounts the /mnt/vmware tree
 * served by this process on vmx-sim, once per dialect, and runs the script. The guest
 * reaches our Unix socket through QEMU guestfwd rules (user networking, restrict=on: no host IP
 * traffic). Every file is also read once and what Linux saw is written to
 * .reports/fs-linux-files.txt (the table in the closing note).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runGuest, socketForwards, v9fsStepScript } from '@vmw9/qemu-harness';
import { HgfsTransport, RpciClient } from '@vmw9/rpc';
import { SimBackdoorPort, VmxHost } from '@vmw9/vmx-sim';
import { StreamFile } from 'ninep';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildVmwareTree, type ServedTree, serveVmwareTree } from '../src/index.js';

const DIALECTS = ['9p2000', '9p2000.u', '9p2000.L'] as const;
const STEPS = [
  'mount',
  'ls',
  'status-files-end',
  'snarf-host',
  'snarf',
  'guestinfo-write',
  'guestinfo-read',
  'guestinfo-host',
  'guestinfo-create',
  'guestinfo-remove',
  'mouse',
  'log',
  'interrupt',
  'usable',
  'hgfs-mkdir',
  'hgfs-write-read',
  'hgfs-append',
  'hgfs-truncate',
  'hgfs-rename',
  'hgfs-rmdir',
  'hgfs-remove',
  'hgfs-ls',
  'hgfs-stat',
  'hgfs-symlink',
  'hgfs-ro-read',
  'hgfs-ro-refuses',
  'umount',
];
const FILES = [
  'ctl',
  'version',
  'snarf',
  'snarfwait',
  'mouse',
  'pointer',
  'wctl',
  'time',
  'bintime',
  'events',
  'power',
  'kmesg',
  'stats',
  'info/cpumhz',
  'info/uuid',
  'info/memsize',
  'info/hwversion',
  'info/screensize',
  'guestinfo/hostset',
  'rpc1',
  'gui',
  'dev',
  'msg',
];

/**
 * The concurrency run (docs/protocol/tree.md §1, "Any number of clients"), on the last mount: four
 * shell loops at once, each reading every file that does not block and writing `snarf` and its
 * own guestinfo key, ROUNDS times.
 */
const LOOPS = 4;
const ROUNDS = 20;

/** The host's shared folders (docs/protocol/tree.md §17): `docs` read-write, `ro` read-only. */
const shares = mkdtempSync(join(tmpdir(), 'vmw9-fs-linux-hgfs-'));
const SHARE = join(shares, 'docs');
const RO = join(shares, 'ro');
mkdirSync(SHARE);
mkdirSync(RO);
writeFileSync(join(RO, 'readme'), 'read only');
symlinkSync('some/target', join(SHARE, 'hostlink'));
/** The exact target the guest's `ln -s` makes (a blank, non-ASCII, a `..`). */
const LINK_TARGET = '../a b/ünï';
/** The size of the big file the last mount writes and reads back through hgfs/. */
const BIG_MIB = 64;

const host = new VmxHost({
  hgfs: {
    shares: [
      { name: 'docs', dir: SHARE, readOnly: false },
      { name: 'ro', dir: RO, readOnly: true },
    ],
  },
});
const port = new SimBackdoorPort(host);
const rpc = RpciClient.overPort(port);
const hgfs = new HgfsTransport(port, rpc);
const tree = buildVmwareTree(
  {
    port,
    rpc,
    transport: 'sim (vmx-sim, for the Linux conformance test)',
    poll: { mouseMs: 10 },
    hgfs: { client: hgfs.client },
  },
  { guestinfoKeys: ['declared'] },
);
/** Files whose reads block (event files): the loops leave them out. Taken from the tree itself. */
const BLOCKING = [...tree.root.children.values()].filter((n) => n instanceof StreamFile).map((n) => n.name);
let served: ServedTree;
// The guest reaches this socket through one QEMU guestfwd rule per mount.
const sock = join(mkdtempSync(join(tmpdir(), 'vmw9-fs-linux-')), 'fs.sock');
const FORWARD = socketForwards(sock, DIALECTS.length);
beforeAll(async () => {
  served = await serveVmwareTree(tree, { listen: `unix!${sock}` });
  host.setHostClipboard('from-the-host');
  host.rpci.setGuestinfo('guestinfo.hostset', 'set-by-the-host');
});
afterAll(async () => {
  await served.close();
  await hgfs.close();
});

/**
 * The guest's half of the concurrency run. The loops read the files a reader may read that do not
 * fail when read alone (\`dev\` on this host, \`msg\` before a request), all in one \`cat\` a round,
 * then snarf (checking it is one whole value), then their own key (checking it is their last
 * write), and write snarf and their key. Every failure is a line in the loop's error file. Each
 * loop's last snarf write is bracketed by lines appended to one file, whose order tells which
 * writes began after which had ended (for the host's final clipboard).
 */
const CONCURRENCY = `
concurrency() {
  echo "CONC-UPTIME start $(cut -d' ' -f1 /proc/uptime)"; READ=""; NREAD=0; rm -f /dev/shm/conc-*
  for f in $(cd $M && find . -path ./hgfs -prune -o -type f -print | sed 's|^\\./||' | grep -vxE '${BLOCKING.join('|')}'); do
    case $(stat -c %A $M/$f) in *r*) ;; *) continue ;; esac
    if cat $M/$f >/dev/null 2>&1; then READ="$READ $M/$f"; NREAD=$((NREAD+1)); else echo "CONC-SKIPPED $f (its read fails alone)"; fi
  done
  echo "CONC-FILES $NREAD$(echo "$READ" | sed "s| $M/| |g")"
  loop() {
    j=$1; E=/dev/shm/conc-err-$j; : > $E; n=0; r=1
    while [ $r -le ${ROUNDS} ]; do
      cat $READ 2>>$E >/dev/null; n=$((n+NREAD))
      s=$(cat $M/snarf 2>>$E); n=$((n+1))
      case "$s" in from-the-host|x-*|loop[1-${LOOPS}]-*) ;; *) echo "snarf read [$s]" >>$E ;; esac
      if [ $r -gt 1 ]; then
        g=$(cat $M/guestinfo/loop$j 2>>$E); n=$((n+1))
        [ "$g" = "v$j-$((r-1))" ] || echo "guestinfo/loop$j read [$g], wrote v$j-$((r-1))" >>$E
      fi
      [ $r = ${ROUNDS} ] && echo "start loop$j-$r" >>/dev/shm/conc-order
      echo "loop$j-$r" 2>>$E >$M/snarf; n=$((n+1))
      [ $r = ${ROUNDS} ] && echo "end loop$j-$r" >>/dev/shm/conc-order
      echo "v$j-$r" 2>>$E >$M/guestinfo/loop$j; n=$((n+1))
      r=$((r+1))
    done
    echo "CONC $j ops $n errors $(wc -l < $E)"
    head -n 5 $E | sed "s/^/CONC-ERR $j /"
  }
  j=1; while [ $j -le ${LOOPS} ]; do loop $j & j=$((j+1)); done
  wait
  sed 's/^/CONC-ORDER /' /dev/shm/conc-order
  echo "CONC-UPTIME end $(cut -d' ' -f1 /proc/uptime)"; echo CONC-DONE
}
`;

/**
 * The shared-folder steps (the list, as vmhgfs-fuse is tried against the simulator) in
 * $H, a directory of its own per dialect in the share `docs`; the last mount also copies a
 * ${BIG_MIB} MiB file of random bytes in and reads it back, printing the checksums and the
 * seconds each way (cp from tmpfs, cat to /dev/null).
 */
const HGFS = `
hgfs_steps() {
  H=$M/hgfs/docs/t-$V
  mkdir $H && [ -d $H ] && ok hgfs-mkdir || bad hgfs-mkdir "mkdir failed"
  echo hello > $H/a; check hgfs-write-read hello cat $H/a
  echo more >> $H/a; check hgfs-append "hello more" sh -c "cat $H/a | tr '\\n' ' ' | sed 's/ $//'"
  truncate -s 3 $H/a; check hgfs-truncate hel cat $H/a
  mv $H/a $H/b; [ ! -e $H/a ] && check hgfs-rename hel cat $H/b || bad hgfs-rename "a is still there"
  mkdir $H/d && rmdir $H/d && [ ! -e $H/d ] && ok hgfs-rmdir || bad hgfs-rmdir "rmdir failed"
  echo x > $H/gone && rm $H/gone && [ ! -e $H/gone ] && ok hgfs-remove || bad hgfs-remove "rm failed"
  echo kept-$V > $H/kept
  L=$(ls -la $H); echo "$L" | sed "s/^/HGFS-LS $V /"
  echo "$L" | grep -q ' b$' && echo "$L" | grep -q ' kept$' && ok hgfs-ls || bad hgfs-ls "ls -la lacks b or kept"
  check hgfs-stat "3 regular file" stat -c '%s %F' $H/b
  if [ $V = 9p2000 ]; then
    check hgfs-symlink some/target cat $M/hgfs/docs/hostlink
  else
    ln -s '${LINK_TARGET}' $H/l && check hgfs-symlink '${LINK_TARGET}' readlink $H/l
  fi
  check hgfs-ro-read "read only" cat $M/hgfs/ro/readme
  if (echo x > $M/hgfs/ro/new) 2>/dev/null || (echo x >> $M/hgfs/ro/readme) 2>/dev/null || mkdir $M/hgfs/ro/d 2>/dev/null; then
    bad hgfs-ro-refuses "a write to the read-only share succeeded"
  else ok hgfs-ro-refuses; fi
  if [ $V = ${DIALECTS.at(-1)} ]; then
    dd if=/dev/urandom of=/dev/shm/big bs=1M count=${BIG_MIB} 2>/dev/null; W=$(sha256sum /dev/shm/big | cut -d' ' -f1)
    t0=$(cut -d' ' -f1 /proc/uptime)
    cp /dev/shm/big $H/big
    t1=$(cut -d' ' -f1 /proc/uptime)
    cat $H/big > /dev/null
    t2=$(cut -d' ' -f1 /proc/uptime)
    R=$(sha256sum $H/big | cut -d' ' -f1); rm -f /dev/shm/big
    echo "HGFS-BIG written $W read $R size $(stat -c %s $H/big) write-s $(echo "$t1 $t0" | awk '{print $1-$2}') read-s $(echo "$t2 $t1" | awk '{print $1-$2}')"
  fi
}
`;

const script = v9fsStepScript(FORWARD, DIALECTS, {
  setup: `HOSTCLIP=from-the-host\n${CONCURRENCY}\n${HGFS}`,
  body: `  L=$(ls -la $M); for f in ctl version snarf mouse time bintime info guestinfo rpc log events power stats; do echo "$L" | grep -q " $f\\$" || bad ls "no $f"; done; echo "$L" | grep -q ' snarf$' && ok ls
  echo "LS $V"; echo "$L" | sed "s/^/LS $V /"
  ends=1; for f in version ctl time bintime kmesg stats pointer gui info/cpumhz info/uuid info/memsize info/hwversion info/screensize rpc1 dev msg; do timeout 10 cat $M/$f >/dev/null 2>&1; [ $? = 124 ] && { ends=0; bad status-files-end "cat $f hung"; }; done; [ $ends = 1 ] && ok status-files-end
  for f in ${FILES.join(' ')}; do
    out=$(timeout 1 dd if=$M/$f bs=4096 count=1 2>/dev/null | od -An -c | tr -s ' ' | head -c 90); rc=$?
    size=$(stat -c '%A %s' $M/$f 2>&1)
    timeout 1 cat $M/$f >/dev/null 2>/dev/shm/err; crc=$?
    echo "FILE $V $f|$size|cat rc=$crc $(head -c 60 /dev/shm/err)|$out"
  done
  # The host's clipboard: what the host set for the first mount, then what the last mount copied.
  check snarf-host "$HOSTCLIP" cat $M/snarf
  echo "x-$V" > $M/snarf; check snarf "x-$V" cat $M/snarf; HOSTCLIP="x-$V"
  echo "value-$V" > $M/guestinfo/declared && ok guestinfo-write || bad guestinfo-write "write failed"
  check guestinfo-read "value-$V" cat $M/guestinfo/declared
  check guestinfo-host set-by-the-host cat $M/guestinfo/hostset
  echo "new-$V" > $M/guestinfo/made-$V && ok guestinfo-create || bad guestinfo-create "create failed"
  err=$(rm $M/guestinfo/made-$V 2>&1) && [ ! -e $M/guestinfo/made-$V ] && ok guestinfo-remove || bad guestinfo-remove "rm: $err"
  echo "MOUSE-READY $V"
  R=$(timeout 120 dd if=$M/mouse bs=49 count=2 2>/dev/null | tail -c 49); echo "MOUSE $V [$R]"
  [ \${#R} = 49 ] && ok mouse || bad mouse "got [$R]"
  echo "log from $V" > $M/log && ok log || bad log "write failed"
  timeout -s INT 3 cat $M/events; rc=$?
  [ $rc = 124 ] && ok interrupt || bad interrupt "timeout exit $rc"
  check usable "protocol 9P2000 9P2000.u 9P2000.L" sed -n 2p $M/version
  hgfs_steps
  [ $V = ${DIALECTS.at(-1)} ] && concurrency
  umount $M && ok umount || bad umount "umount failed"`,
});

it('Linux v9fs mounts the tree with each dialect and runs the script', async () => {
  const moves: Record<string, { x: number; y: number }> = {};
  const r = await runGuest({
    qemuArgs: FORWARD.qemuArgs,
    ioperm: false,
    command: ['sh', '-c', script],
    // Sized for a loaded machine: about 3.5 minutes idle with the concurrency loops, near 10 with
    // both cores busy.
    timeoutMs: 1_500_000,
    readyMarker: /MOUSE-READY/,
    onQmp: async (_qmp, guest) => {
      // For each dialect: once the guest's dd has enabled the vmmouse, move the pointer.
      for (const [i, v] of DIALECTS.entries()) {
        if (i > 0) await guest.waitForOutput(new RegExp(`MOUSE-READY ${v.replace('.', '\\.')}`), 600_000);
        const start = Date.now();
        while (host.mouse.status !== 0 && Date.now() - start < 120_000)
          await new Promise((res) => setTimeout(res, 20));
        await new Promise((res) => setTimeout(res, 300));
        const x = 0x2000 * (i + 1);
        host.mouse.event({ x, y: 0x1000, right: true });
        moves[v] = { x: Math.round((x * 1919) / 0xffff), y: Math.round((0x1000 * 1079) / 0xffff) };
        await guest.waitForOutput(new RegExp(`MOUSE ${v.replace('.', '\\.')} `), 300_000);
      }
    },
  });
  const out = r.stdout;
  const reports = join(fileURLToPath(new URL('../../../', import.meta.url)), '.reports');
  mkdirSync(reports, { recursive: true });
  writeFileSync(
    join(reports, 'fs-linux-files.txt'),
    `${out
      .split('\n')
      .filter((l) => l.startsWith('FILE ') || l.startsWith('LS '))
      .join('\n')}\n`,
  );
  // The concurrency run's figures, reported before anything is checked.
  const conc = [...out.matchAll(/^CONC (\d+) ops (\d+) errors (\d+)/gm)].map((m) => ({
    loop: Number(m[1]),
    ops: Number(m[2]),
    errors: Number(m[3]),
  }));
  const uptime = (at: string) => Number(new RegExp(`^CONC-UPTIME ${at} ([\\d.]+)`, 'm').exec(out)?.[1]);
  const seconds = (uptime('end') - uptime('start')).toFixed(0);
  const summary = `Linux v9fs (${DIALECTS.at(-1)}), ${LOOPS} shell loops × ${ROUNDS} rounds: ${conc.reduce((a, c) => a + c.ops, 0)} operations, ${conc.reduce((a, c) => a + c.errors, 0)} errors; ${/^CONC-FILES (\d+)/m.exec(out)?.[1]} files read each round; final clipboard ${JSON.stringify(host.clipboard.host.toString())}; ${seconds} s in the guest`;
  console.log(summary);
  writeFileSync(
    join(reports, 'fs-linux-concurrency.txt'),
    `${summary}\n${out
      .split('\n')
      .filter((l) => l.startsWith('CONC'))
      .join('\n')}\n`,
  );
  expect(out).toContain('DONE');
  for (const v of DIALECTS) for (const s of STEPS) expect(out, `${v} ${s}`).toContain(`STEP ${v} ${s} ok`);
  expect(out).not.toContain('FAIL');
  for (const v of DIALECTS) {
    const rec = new RegExp(`MOUSE ${v.replace('.', '\\.')} \\[m +(\\d+) +(\\d+) +4 +\\d+ \\]`).exec(out);
    expect(rec, `mouse record for ${v}`).not.toBeNull();
    expect({ x: Number(rec![1]), y: Number(rec![2]) }).toEqual(moves[v]);
  }
  // The concurrency run: no operation failed, and the host holds what the last writes said.
  expect(out).toContain('CONC-DONE');
  expect(conc.map((c) => c.loop).sort()).toEqual(Array.from({ length: LOOPS }, (_, j) => j + 1));
  expect(out.split('\n').filter((l) => l.startsWith('CONC-ERR'))).toEqual([]);
  for (const c of conc) expect(c.errors, `loop ${c.loop}`).toBe(0);
  for (let j = 1; j <= LOOPS; j++)
    expect(host.rpci.getGuestinfo(`guestinfo.loop${j}`)).toBe(`v${j}-${ROUNDS}`);
  // The last writes: each loop's final snarf write, in the order their start and end lines were
  // appended. The host's clipboard is one no other final write began after.
  const order = [...out.matchAll(/^CONC-ORDER (start|end) (\S+)/gm)].map((m) => [m[1], m[2]] as const);
  const last = order
    .filter(([ev]) => ev === 'end')
    .map(([, v]) => v)
    .filter(
      (v) =>
        !order.slice(order.findIndex(([ev, w]) => ev === 'end' && w === v)).some(([ev]) => ev === 'start'),
    );
  expect(last.length).toBeGreaterThan(0);
  expect(last.map((v) => `${v}\n`)).toContain(host.clipboard.host.toString());
  // What the guest's script did is in the simulator.
  expect(host.rpci.getGuestinfo('guestinfo.declared')).toBe('value-9p2000.L');
  for (const v of DIALECTS) expect(host.rpci.getGuestinfo(`guestinfo.made-${v}`)).toBe('');
  expect(host.rpci.logs).toEqual(DIALECTS.map((v) => `log from ${v}`));
  // What the guest did in the shared folder is in the host's directory.
  for (const v of DIALECTS) {
    expect(readFileSync(join(SHARE, `t-${v}`, 'b'), 'utf8')).toBe('hel');
    expect(readFileSync(join(SHARE, `t-${v}`, 'kept'), 'utf8')).toBe(`kept-${v}\n`);
    if (v !== '9p2000') expect(readlinkSync(join(SHARE, `t-${v}`, 'l'))).toBe(LINK_TARGET);
  }
  expect(readFileSync(join(RO, 'readme'), 'utf8')).toBe('read only');
  // Every handle the guest's opens made was closed at its clunk.
  expect(host.hgfs.state().openFiles).toBe(0);
  const big = /^HGFS-BIG written (\w+) read (\w+) size (\d+) write-s ([\d.]+) read-s ([\d.]+)/m.exec(out);
  expect(big, 'the big file line').not.toBeNull();
  const hostSum = createHash('sha256')
    .update(readFileSync(join(SHARE, `t-${DIALECTS.at(-1)}`, 'big')))
    .digest('hex');
  expect({ written: big![1], read: big![2], size: Number(big![3]) }).toEqual({
    written: hostSum,
    read: hostSum,
    size: BIG_MIB << 20,
  });
  const hgfsSummary = `Linux v9fs (${DIALECTS.at(-1)}) through hgfs/: ${BIG_MIB} MiB copied in (cp from tmpfs) in ${big![4]} s, read back (cat) in ${big![5]} s (guest uptime, QEMU TCG); checksums equal in the guest and on the host; HGFS requests: ${JSON.stringify(host.hgfs.counts())}`;
  console.log(hgfsSummary);
  writeFileSync(join(reports, 'fs-linux-hgfs.txt'), `${hgfsSummary}\n`);
}, 1_560_000);
