/**
 * The Linux kernel 9p client (Debian 6.1, in the QEMU TCG guest) mounting the ramfs tree served by
 * this process, once per dialect. The guest reaches us through QEMU user networking: a guestfwd rule
 * per mount hands its TCP connection to a chardev connected to our Unix socket, so no host IP
 * traffic is involved. The tree is ninep-ramfs's (createRamfs) plus one blocking event file.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runGuest, socketForwards, v9fsStepScript } from '@vmw9/qemu-harness';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createRamfs, EventFile, NinepServer } from '../src/index.js';

const DIALECTS = ['9p2000', '9p2000.u', '9p2000.L'] as const;
const STEPS = [
  'mount',
  'create',
  'readback',
  'append',
  'truncate',
  'rename',
  'mkdir',
  'rmdir',
  'remove',
  'ls',
  'stat',
  'df',
  'big',
  'interrupt',
  'usable',
  'umount',
];

const root = createRamfs('root');
const block = root.add(new EventFile('block', 0o444, 'root'));
let flushes = 0;
const server = new NinepServer({
  root,
  permissions: false,
  log: (l) => console.log(l),
  trace: (dir, m) => {
    if (dir === '<-' && m.type === 'Tflush') flushes++;
  },
});
// The guest reaches this socket through one QEMU guestfwd rule per mount.
const sock = join(mkdtempSync(join(tmpdir(), 'ninep-linux-')), 'ramfs.sock');
const FORWARD = socketForwards(sock, DIALECTS.length);
beforeAll(async () => {
  await server.listen(`unix!${sock}`);
});
afterAll(() => server.close());

// Each step prints "STEP <dialect> <name> ok|FAIL ..." so a failure names the step and dialect.
const script = v9fsStepScript(FORWARD, DIALECTS, {
  setup: `dd if=/dev/urandom of=/dev/shm/big bs=1M count=16 status=none
WANT=$(sha256sum </dev/shm/big)`,
  body: `  D=$M/$V; mkdir $D
  echo hello > $D/a && ok create || bad create "write failed"
  check readback hello cat $D/a
  echo more >> $D/a; check append "hello
more" cat $D/a
  truncate -s 3 $D/a; check truncate hel cat $D/a
  mv $D/a $D/b && [ ! -e $D/a ] && check rename hel cat $D/b
  mkdir $D/sub && echo x > $D/sub/f && [ -d $D/sub ] && ok mkdir || bad mkdir "mkdir failed"
  rm $D/sub/f && rmdir $D/sub && [ ! -e $D/sub ] && ok rmdir || bad rmdir "rmdir failed"
  echo gone > $D/c && rm $D/c && [ ! -e $D/c ] && ok remove || bad remove "remove failed"
  L=$(ls -la $D); echo "$L" | grep -q ' b$' && echo "$L" | grep -q '^-rw' && ok ls || bad ls "$L"
  check stat "3 regular file" stat -c '%s %F' $D/b
  df $M >/dev/null && ok df || bad df "df failed"
  cp /dev/shm/big $D/big && check big "$WANT" sh -c "sha256sum <$D/big"
  timeout -s INT 3 cat $M/block; rc=$?
  [ $rc = 124 ] && ok interrupt || bad interrupt "timeout exit $rc"
  check usable hel cat $D/b
  rm -r $D
  umount $M && ok umount || bad umount "umount failed"`,
});

it('Linux v9fs mounts ninep-ramfs with each dialect and runs the file operations', async () => {
  const r = await runGuest({
    qemuArgs: FORWARD.qemuArgs,
    ioperm: false,
    command: ['sh', '-c', script],
    timeoutMs: 280_000,
  });
  console.log(r.stdout);
  expect(r.stdout).toContain('DONE');
  for (const v of DIALECTS) for (const s of STEPS) expect(r.stdout).toContain(`STEP ${v} ${s} ok`);
  expect(r.stdout).not.toContain('FAIL');
  // Each Ctrl-C reached us as a Tflush that ended the blocked read.
  expect(flushes).toBeGreaterThanOrEqual(DIALECTS.length);
  expect(block.blockedReaders).toBe(0);
}, 300_000);
