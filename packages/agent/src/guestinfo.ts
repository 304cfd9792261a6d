/**
 * Guest info reporting: what vmtoolsd's guestInfo plugin tells the host (docs/protocol/guestrpc.md §5):
 * hostname, OS names, disks, NICs, uptime. Gathered on start, on a schedule and after ping/reset;
 * only values that changed are sent (the cache is cleared on reset, when the host forgets).
 * NICs go as GuestNicProto V3 XDR on type 10, then type 9 if the host refuses 10 (as vmtoolsd's
 * fallback); a host refusing both gets the primary IP as `guestinfo.ip`.
 */
import { hostname } from 'node:os';
import { GUESTINFO_TYPES, guestinfoSet, RpcFailed, type RpcSender, setGuestInfo } from '@vmw9/rpc';
import type { Logger } from 'pino';
import type { AgentConfig } from './config.js';
import { diskInfoJson, diskUsage } from './disks.js';
import { type Nic, primaryIp, selectNics } from './nics.js';
import { encodeNicInfoV3 } from './nicxdr.js';
import { osNames, uptimeHundredths } from './system.js';

const { IPADDRESS_V2, IPADDRESS_V3 } = GUESTINFO_TYPES;

export interface GuestFacts {
  hostname: string;
  osFull: string;
  osShort: string;
  uptime: number;
  nics: Nic[];
  disks?: string;
}

export class GuestInfoReporter {
  private readonly sent = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | null = null;
  /** The NIC method that worked (vmtoolsd caches it too). */
  private nicType: number | 'ip' = IPADDRESS_V3;
  /** Host option broadcastIP: also set guestinfo.ip. */
  broadcastIp = false;
  reports = 0;
  last: GuestFacts | null = null;

  constructor(
    private readonly rpc: RpcSender,
    private readonly config: () => AgentConfig['guestinfo'],
    private readonly log: Logger,
  ) {}

  async gather(): Promise<GuestFacts> {
    const cfg = this.config();
    const os = await osNames();
    const facts: GuestFacts = {
      hostname: hostname(),
      osFull: os.full,
      osShort: os.short,
      uptime: uptimeHundredths(),
      nics: selectNics({ exclude: cfg.excludeNics, include: cfg.includeNics, primary: cfg.primaryNics }),
    };
    if (cfg.disks) facts.disks = diskInfoJson(await diskUsage());
    return facts;
  }

  /** Forgets what was sent: after a host reset everything goes again. */
  clearCache(): void {
    this.sent.clear();
  }

  /** Gathers and sends what changed. Concurrent calls share one run. */
  report(why: string): Promise<void> {
    this.running ??= this.reportNow(why).finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async reportNow(why: string): Promise<void> {
    const f = await this.gather();
    this.last = f;
    this.reports++;
    let changed = 0;
    const send = async (key: string, value: string, fn: () => Promise<void>) => {
      if (this.sent.get(key) === value) return;
      await fn();
      this.sent.set(key, value);
      changed++;
    };
    await send('os.full', f.osFull, () => setGuestInfo(this.rpc, GUESTINFO_TYPES.OS_NAME_FULL, f.osFull));
    await send('os.short', f.osShort, () => setGuestInfo(this.rpc, GUESTINFO_TYPES.OS_NAME, f.osShort));
    if (f.disks !== undefined) {
      const disks = f.disks;
      await send('disks', disks, async () => {
        const r = await this.rpc.send(`SetGuestDiskInfo ${disks}`);
        if (!r.ok) this.log.debug({ reply: r.text }, 'the host does not take SetGuestDiskInfo');
      });
    }
    await send('hostname', f.hostname, () => setGuestInfo(this.rpc, GUESTINFO_TYPES.DNS_NAME, f.hostname));
    const xdr = encodeNicInfoV3(f.nics);
    await send('nics', xdr.toString('base64'), () => this.sendNics(f.nics, xdr));
    const ip = primaryIp(f.nics);
    if (this.broadcastIp && ip) await send('ip', ip, () => guestinfoSet(this.rpc, 'guestinfo.ip', ip));
    // Uptime changes every time: vmtoolsd sends it on each gather too.
    await setGuestInfo(this.rpc, GUESTINFO_TYPES.UPTIME, String(f.uptime));
    this.log.debug({ why, changed, nics: f.nics.map((n) => n.name) }, 'guest info reported');
  }

  private async sendNics(nics: Nic[], xdr: Buffer): Promise<void> {
    const tries =
      this.nicType === IPADDRESS_V3
        ? [IPADDRESS_V3, IPADDRESS_V2]
        : this.nicType === IPADDRESS_V2
          ? [IPADDRESS_V2]
          : [];
    for (const type of tries) {
      try {
        await setGuestInfo(this.rpc, type, xdr);
        this.nicType = type;
        return;
      } catch (e) {
        // The host refused this format (`0 …`): try the next one, as guestInfoServer.c does.
        if (!(e instanceof RpcFailed)) throw e;
      }
    }
    this.nicType = 'ip';
    const ip = primaryIp(nics);
    if (ip) await guestinfoSet(this.rpc, 'guestinfo.ip', ip);
  }

  /** Reports every `pollIntervalMs` (0: never on a schedule). */
  schedule(): void {
    this.stop();
    const ms = this.config().pollIntervalMs;
    if (ms <= 0) return;
    this.timer = setInterval(() => {
      this.report('schedule').catch((e: Error) =>
        this.log.warn({ err: e.message }, 'guest info report failed'),
      );
    }, ms);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  async settle(): Promise<void> {
    await this.running?.catch(() => undefined);
  }
}
