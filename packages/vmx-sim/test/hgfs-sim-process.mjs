// A vmx-sim host with shared folders, served on a Unix socket from its own process, so that the
// test may block in file system calls on a FUSE mount whose server (vmhgfs-fuse under vmx-trap)
// needs this host to answer meanwhile. Started with fork(); argv[2]: the socket, argv[3]: the
// shares as JSON. IPC messages: { line } → { answer } (the console), { stats: true } → { stats }
// (backdoor calls so far and HGFS requests per operation).
import { runConsoleCommand, serveHost, VmxHost } from '../dist/index.js';

const host = new VmxHost({ hgfs: { shares: JSON.parse(process.argv[3]) } });
await serveHost(host, process.argv[2]);
process.on('message', (m) => {
  if (m.line !== undefined) process.send({ answer: runConsoleCommand(host, m.line) });
  else if (m.stats) process.send({ stats: { calls: host.log.total(), hgfs: host.hgfs.counts() } });
});
// The test ends us with a signal, or by going away (the IPC channel closes).
process.on('disconnect', () => process.exit(0));
process.send({ ready: true });
