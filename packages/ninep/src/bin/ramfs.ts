#!/usr/bin/env node
/**
 * ninep-ramfs [--listen ADDR] [--msize N] [--trace]: an in-memory read-write file server.
 * ADDR is a dial string (unix!PATH, tcp!HOST!PORT, tcp!PORT for loopback); the default is a
 * Unix socket (mode 0600) in the runtime directory. The address is printed once listening.
 */
import { parseArgs } from 'node:util';
import { createRamfs } from '../ramfs.js';
import { NinepServer } from '../server.js';

const { values } = parseArgs({
  options: {
    listen: { type: 'string', short: 'l' },
    msize: { type: 'string' },
    trace: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout.write('usage: ninep-ramfs [--listen unix!PATH|tcp!HOST!PORT] [--msize N] [--trace]\n');
  process.exit(0);
}

const server = new NinepServer({
  root: createRamfs(process.env['USER'] ?? 'none'),
  ...(values.msize ? { msize: Number(values.msize) } : {}),
  statfs: () => ({
    blocks: BigInt(1 << 20),
    bfree: BigInt(1 << 20),
    bavail: BigInt(1 << 20),
    files: 1n << 20n,
    ffree: 1n << 20n,
  }),
  log: (line) => process.stderr.write(`${line}\n`),
  ...(values.trace ? { trace: (dir, m) => process.stderr.write(`${dir} ${m.type} tag ${m.tag}\n`) } : {}),
});
const listener = await server.listen(values.listen, { name: `ramfs.${process.pid}.sock` });
process.stdout.write(`ninep-ramfs: listening on ${listener.address}\n`);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    void server.close().then(() => process.exit(0));
  });
}
