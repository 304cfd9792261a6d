/**
 * `vmw9 host`: every fact the simple backdoor commands give. A fact the host does not support is
 * shown as unsupported with the reason; nothing is invented.
 */
import {
  type BackdoorPort,
  getBiosUuid,
  getCpuMhz,
  getGuiOptions,
  getHardwareVersion,
  getHostTime,
  getHz,
  getMemorySize,
  getPointer,
  getScreenSize,
  getVcpuInfo,
  getVersion,
  isMouseAbsolute,
  UnsupportedCommand,
} from '@vmw9/backdoor';
import { Exit } from '../exit.js';
import { type HostOptions, openHost } from '../host.js';
import { type Output, printJson } from '../output.js';

type Fact = { supported: true; value: unknown; text: string } | { supported: false; error: string };

const FACTS: ReadonlyArray<[string, (p: BackdoorPort) => Promise<[unknown, string]>]> = [
  [
    'version',
    async (p) => {
      const v = await getVersion(p);
      return [v, `${v.version}, product ${v.productName} (type ${v.productType})`];
    },
  ],
  [
    'hardwareVersion',
    async (p) => {
      const v = await getHardwareVersion(p);
      return [v, String(v)];
    },
  ],
  [
    'cpuMhz',
    async (p) => {
      const v = await getCpuMhz(p);
      return [v, `${v} MHz`];
    },
  ],
  [
    'memory',
    async (p) => {
      const m = await getMemorySize(p);
      return [
        m,
        m.unit === 'MB'
          ? `${m.megabytes} MB`
          : `${m.megabytes} MiB (host answered ${m.raw} bytes, cut to 32 bits)`,
      ];
    },
  ],
  [
    'biosUuid',
    async (p) => {
      const v = await getBiosUuid(p);
      return [v, v];
    },
  ],
  [
    'hostTime',
    async (p) => {
      const t = await getHostTime(p);
      return [
        { ...t, date: t.date.toISOString() },
        `${t.date.toISOString()} (${t.source}, max lag ${t.maxLagMicros} µs)`,
      ];
    },
  ],
  [
    'screenSize',
    async (p) => {
      const s = await getScreenSize(p);
      return [s, `${s.width}x${s.height}`];
    },
  ],
  [
    'pointer',
    async (p) => {
      const s = await getPointer(p);
      return [s, s.ungrabbed ? 'not grabbed' : `${s.x},${s.y}`];
    },
  ],
  [
    'absoluteMouse',
    async (p) => {
      const v = await isMouseAbsolute(p);
      return [v, v ? 'available' : 'not available'];
    },
  ],
  [
    'guiOptions',
    async (p) => {
      const v = await getGuiOptions(p);
      return [v, `0x${v.toString(16)}`];
    },
  ],
  [
    'tsc',
    async (p) => {
      const v = await getHz(p);
      return [v, `TSC ${v.tscHz} Hz, APIC bus ${v.apicHz} Hz`];
    },
  ],
  [
    'vcpuInfo',
    async (p) => {
      const v = await getVcpuInfo(p);
      return [v, `0x${v.raw.toString(16)}`];
    },
  ],
];

export async function gatherFacts(port: BackdoorPort): Promise<Record<string, Fact>> {
  const facts: Record<string, Fact> = {};
  for (const [name, get] of FACTS) {
    try {
      const [value, text] = await get(port);
      facts[name] = { supported: true, value, text };
    } catch (e) {
      if (e instanceof UnsupportedCommand || (e instanceof Error && e.name === 'UnsupportedCommand')) {
        facts[name] = { supported: false, error: (e as Error).message };
      } else {
        throw e;
      }
    }
  }
  return facts;
}

export async function hostCommand(o: Output, opts: HostOptions): Promise<number> {
  const { port, description } = await openHost(opts);
  let facts: Awaited<ReturnType<typeof gatherFacts>>;
  try {
    facts = await gatherFacts(port);
  } finally {
    await port.close?.();
  }
  if (o.json) {
    printJson(o, { transport: description, facts });
  } else {
    o.out(`host: ${description}`);
    const w = Math.max(...Object.keys(facts).map((k) => k.length));
    for (const [k, f] of Object.entries(facts)) {
      o.out(
        `  ${k.padEnd(w)}  ${f.supported ? f.text : `unsupported (${f.error.replace(/^backdoor command /, '')})`}`,
      );
    }
  }
  return Exit.OK;
}
