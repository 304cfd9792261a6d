/**
 * Guest clock synchronisation with the host (docs/protocol/guestrpc.md §11), made to stay out of the
 * user's way (open-vm-tools #302, #277, #85): it steps forward only unless allow-backward is
 * configured, and does nothing while an NTP daemon keeps the clock unless ignore-ntp is set.
 * The clock is set through an injected `setClock`, so tests never touch the machine's clock.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { type BackdoorPort, getHostTime } from '@vmw9/backdoor';
import type { Logger } from 'pino';
import type { AgentConfig } from './config.js';

export type SetClock = (epochMs: number) => Promise<void>;

export interface SyncResult {
  /** stepped: the clock was set; none: within the threshold; refused: a step not allowed; skipped: not attempted. */
  action: 'stepped' | 'none' | 'refused' | 'skipped';
  /** guest − host, ms (negative: the guest is behind). */
  offsetMs?: number;
  reason?: string;
}

export interface TimeSyncOptions {
  port: BackdoorPort;
  config: () => AgentConfig['timesync'];
  log: Logger;
  setClock?: SetClock;
  /** Whether an NTP daemon keeps the clock now. */
  ntpActive?: () => Promise<string | null>;
  /** The guest clock (ms); tests move it. */
  now?: () => number;
}

/** Daemons that keep the clock themselves: while one runs, the host's clock is not ours to apply. */
export const NTP_DAEMONS = ['chronyd', 'ntpd', 'systemd-timesyncd', 'openntpd', 'ntpsec', 'timesyncd'];

/** The name of a running NTP daemon (from /proc/<pid>/comm), or null. No child process per check. */
export async function detectNtpDaemon(): Promise<string | null> {
  let pids: string[];
  try {
    pids = (await readdir('/proc')).filter((n) => /^\d+$/.test(n));
  } catch {
    return null;
  }
  for (const pid of pids) {
    try {
      const comm = (await readFile(`/proc/${pid}/comm`, 'utf8')).trim();
      if (NTP_DAEMONS.includes(comm)) return comm;
    } catch {
      // the process went away
    }
  }
  return null;
}

/** Sets the system clock with date(1) (needs CAP_SYS_TIME): the default `setClock`. */
export const setSystemClock: SetClock = (epochMs) =>
  new Promise((resolve, reject) => {
    execFile('date', ['-u', '-s', `@${(epochMs / 1000).toFixed(3)}`], { timeout: 5000 }, (e, _o, err) =>
      e ? reject(new Error(`date -s failed: ${err.trim() || e.message}`)) : resolve(),
    );
  });

export class TimeSync {
  private timer: NodeJS.Timeout | undefined;
  private readonly setClock: SetClock;
  private readonly ntpActive: () => Promise<string | null>;
  private readonly now: () => number;
  private ntpCache: { at: number; name: string | null } | null = null;
  /** Periodic sync asked by the host (Set_Option synctime) and its period. */
  periodic = { enabled: false, periodMs: 60_000 };
  last: SyncResult | null = null;

  constructor(private readonly o: TimeSyncOptions) {
    this.setClock = o.setClock ?? setSystemClock;
    this.ntpActive = o.ntpActive ?? detectNtpDaemon;
    this.now = o.now ?? Date.now;
  }

  /** The host time now (ms), sampled as timeSync.c does: the pair of host reads closest together. */
  private async sample(): Promise<{ host: number; guest: number; maxLagMs: number }> {
    let best: { host: number; guest: number; maxLagMs: number; spread: number } | null = null;
    let h2 = await getHostTime(this.o.port);
    for (let i = 0; i < 4; i++) {
      const h1 = h2;
      const guest = this.now();
      h2 = await getHostTime(this.o.port);
      const t1 = h1.seconds * 1000 + h1.microseconds / 1000;
      const t2 = h2.seconds * 1000 + h2.microseconds / 1000;
      const spread = t2 - t1;
      if (!best || spread < best.spread)
        best = { host: t1 + spread / 2, guest, maxLagMs: h2.maxLagMicros / 1000, spread };
      if (spread <= 2) break;
    }
    return best!;
  }

  /** One synchronisation (Time_Synchronize, timectl `sync`, a periodic tick). */
  async syncOnce(why: string): Promise<SyncResult> {
    const cfg = this.o.config();
    const r = await this.decide(cfg);
    this.last = r;
    const fields = { why, action: r.action, offsetMs: r.offsetMs, reason: r.reason };
    if (r.action === 'stepped') this.o.log.info(fields, 'guest clock set from the host');
    else if (r.action === 'refused' || r.action === 'skipped') this.o.log.info(fields, 'time sync not done');
    else this.o.log.debug(fields, 'guest clock within the threshold');
    return r;
  }

  private async decide(cfg: AgentConfig['timesync']): Promise<SyncResult> {
    if (!cfg.enabled) return { action: 'skipped', reason: 'time sync is off ([timesync] enabled = false)' };
    if (!cfg.ignoreNtp) {
      const ntp = await this.ntpDaemon();
      if (ntp)
        return {
          action: 'skipped',
          reason: `${ntp} keeps the clock ([timesync] ignore-ntp = true to override)`,
        };
    }
    const s = await this.sample();
    const offsetMs = Math.round(s.guest - s.host);
    if (Math.abs(offsetMs) < cfg.thresholdMs) return { action: 'none', offsetMs };
    if (offsetMs > 0 && !cfg.allowBackward)
      return {
        action: 'refused',
        offsetMs,
        reason: 'the host is behind and stepping backwards is off ([timesync] allow-backward)',
      };
    // Apply the measured offset to the clock as it is now: the sample is already a few µs old.
    await this.setClock(this.now() - offsetMs);
    return { action: 'stepped', offsetMs };
  }

  private async ntpDaemon(): Promise<string | null> {
    // Scanning /proc costs a little: once a minute is plenty.
    if (this.ntpCache && Date.now() - this.ntpCache.at < 60_000) return this.ntpCache.name;
    const name = await this.ntpActive();
    this.ntpCache = { at: Date.now(), name };
    return name;
  }

  /** Turns periodic sync on or off (host options synctime / synctime.period, or timectl). */
  setPeriodic(enabled: boolean, periodMs = this.periodic.periodMs): void {
    this.periodic = { enabled, periodMs: periodMs > 0 ? periodMs : 60_000 };
    clearInterval(this.timer);
    this.timer = undefined;
    if (!enabled || !this.o.config().enabled) return;
    this.timer = setInterval(() => {
      this.syncOnce('periodic').catch((e: Error) =>
        this.o.log.warn({ err: e.message }, 'periodic time sync failed'),
      );
    }, this.periodic.periodMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
