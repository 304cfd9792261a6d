/** `info/`: the host's facts about this machine, each a `%11d ` number or a line. */
import {
  type BackdoorPort,
  getBiosUuid,
  getCpuMhz,
  getHardwareVersion,
  getMemorySize,
  getScreenSize,
} from '@vmw9/backdoor';
import { Dir } from 'ninep';
import { num11 } from './format.js';
import { TextFile } from './text.js';

export class InfoDir extends Dir {
  constructor(port: BackdoorPort) {
    super('info', 0o555);
    this.add(new TextFile('cpumhz', async () => num11(await getCpuMhz(port))));
    this.add(new TextFile('uuid', async () => `${await getBiosUuid(port)}\n`));
    this.add(new TextFile('memsize', async () => num11(Math.round((await getMemorySize(port)).megabytes))));
    this.add(new TextFile('hwversion', async () => num11(await getHardwareVersion(port))));
    this.add(
      new TextFile('screensize', async () => {
        const sz = await getScreenSize(port);
        return `${num11(sz.width)}${num11(sz.height)}`;
      }),
    );
  }
}
