/**
 * The host as HGFS client of the guest's server (docs/protocol/hgfs.md, "The guest's shares" and
 * "The host as client of the guest's server"): each request goes to the guest as the TCLO `f ` +
 * the request packet, to the app that registered `tools.capability.hgfs_server APP 1` (vmsvc
 * `toolbox`, vmusr and the vmw9 agent `toolbox-dnd`), and comes back as `OK ` + the reply packet.
 * A packet the guest's server drops gets `OK ` alone from ours and `OK ` + a stale buffer from
 * vmtoolsd's.
 */
import {
  decodeHeader,
  HGFS_HEADER_SIZE,
  HgfsClient,
  HgfsOp,
  HgfsTransportError,
  opName,
  rpciRequest,
  statusName,
} from '@vmw9/hgfs';
import type { RpciHost } from '../rpci.js';
import { type TcloHost, TcloRequestFailed } from '../tclo.js';

/** Schedules `fn` after `ms`; returns a function that cancels it. Injected by tests. */
export type SetTimer = (fn: () => void, ms: number) => () => void;

export const realTimer: SetTimer = (fn, ms) => {
  const t = setTimeout(fn, ms);
  t.unref();
  return () => clearTimeout(t);
};

/** The RPCI a guest app sends to say it serves HGFS (docs/protocol/hgfs.md, "The host as client of the guest's server"). */
export const HGFS_SERVER_CAPABILITY = 'tools.capability.hgfs_server';

/** The desktop tools' app (vmusr, the vmw9 agent): where a DnD staging directory lives. */
const DESKTOP_APP = 'toolbox-dnd';

const OK = Buffer.from('OK ');
const WRITE_REQUEST_BODY = 25;

/** One request sent to the guest's server, and what came back. */
export interface HgfsRequestRecord {
  seq: number;
  op: number;
  opName: string;
  /** The reply's status; absent when the guest answered no packet (it dropped the request). */
  status?: number;
  statusName?: string;
  requestBytes: number;
  replyBytes: number;
  /** File data carried: a WRITE_V3's data, a successful READ_V3's data. */
  dataBytes: number;
  /** The guest's TCLO answer when it was not `OK ` (e.g. `ERROR 1 argument required`), or why none came. */
  error?: string;
  /** The request's own header did not pass the checks a server makes (a hostile host's, on purpose). */
  malformed?: true;
  /** The reply is no answer to this request (no readable header, or not the length its header says). */
  garbled?: string;
}

export interface GuestHgfsOptions {
  tclo: TcloHost;
  rpci: RpciHost;
  /** The packet size a session asks for: the host's `hgfs.packetSize.large` choice. */
  packetSize(): number;
  /** How long one request waits for the guest's answer (default 30 s). */
  requestTimeoutMs?: number;
  setTimer?: SetTimer;
}

export interface OpenSessionOptions {
  /** The guest app to address; default: the desktop tools' when they serve HGFS, else the first that does. */
  app?: string;
  /** READ_V3/WRITE_V3 requests one read or write keeps queued (default 8; TCLO delivers one at a time). */
  ioWindow?: number;
  /** Called after every request with its record (progress, tests). */
  onRequest?(r: HgfsRequestRecord): void;
}

/** No guest app serves HGFS (none registered `tools.capability.hgfs_server APP 1` on an open channel). */
export class NoGuestHgfsServer extends Error {
  override name = 'NoGuestHgfsServer';
  constructor(app?: string) {
    super(
      app
        ? `the guest app ${app} does not serve HGFS (no tools.capability.hgfs_server ${app} 1, or its TCLO channel is closed)`
        : 'no guest app serves HGFS (none sent tools.capability.hgfs_server APP 1)',
    );
  }
}

/** The guest's HGFS servers, as their apps registered them, and sessions with them. */
export class GuestHgfs {
  /** App → serving, from `tools.capability.hgfs_server APP 0|1`, latest wins. */
  readonly registered = new Map<string, boolean>();
  private readonly setTimer: SetTimer;
  private readonly timeoutMs: number;
  private seq = 0;

  constructor(private readonly o: GuestHgfsOptions) {
    this.setTimer = o.setTimer ?? realTimer;
    this.timeoutMs = o.requestTimeoutMs ?? 30_000;
    o.rpci.on('rpci', ({ command, request }: { command: string; request: Buffer }) => {
      if (command !== HGFS_SERVER_CAPABILITY) return;
      const [, app, value] = request.toString('utf8').trim().split(/\s+/);
      if (app) this.registered.set(app, value === '1');
    });
  }

  /** The apps serving HGFS now: registered with 1 and with an open TCLO channel. */
  servers(): string[] {
    return [...this.registered].filter(([app, on]) => on && this.o.tclo.hasApp(app)).map(([app]) => app);
  }

  /** The app a session addresses: `prefer` if it serves, else the desktop tools', else the first. */
  serverApp(prefer?: string): string {
    const serving = this.servers();
    if (prefer !== undefined) {
      if (!serving.includes(prefer)) throw new NoGuestHgfsServer(prefer);
      return prefer;
    }
    const app = serving.includes(DESKTOP_APP) ? DESKTOP_APP : serving[0];
    if (app === undefined) throw new NoGuestHgfsServer();
    return app;
  }

  /** A new client session with the guest's server (CREATE_SESSION_V4 on its first request). */
  open(opts: OpenSessionOptions = {}): GuestHgfsSession {
    return new GuestHgfsSession(this, this.serverApp(opts.app), opts);
  }

  /**
   * Sends one packet as it is (a hostile host's malformed request, or a request built by hand)
   * and returns the reply packet (empty when the guest dropped it) with its record.
   */
  async sendRaw(
    packet: Uint8Array,
    app: string = this.serverApp(),
  ): Promise<{ reply: Uint8Array; record: HgfsRequestRecord }> {
    return this.exchange(app, packet);
  }

  /** One request/reply over TCLO; never throws for what the guest answered, only records it. */
  async exchange(app: string, packet: Uint8Array): Promise<{ reply: Uint8Array; record: HgfsRequestRecord }> {
    const record = requestRecord(++this.seq, packet);
    const abort = new AbortController();
    const cancel = this.setTimer(() => abort.abort(), this.timeoutMs);
    try {
      const r = await this.o.tclo.request(rpciRequest(packet), app, { label: 'f', signal: abort.signal });
      if (!r.raw.subarray(0, OK.length).equals(OK)) {
        record.error = r.raw.subarray(0, 200).toString('utf8');
        return { reply: new Uint8Array(0), record };
      }
      const reply = r.raw.subarray(OK.length);
      noteReply(record, reply);
      return { reply, record };
    } catch (e) {
      record.error =
        e instanceof TcloRequestFailed && e.why === 'aborted'
          ? `no answer from ${app} within ${this.timeoutMs} ms`
          : (e as Error).message;
      return { reply: new Uint8Array(0), record };
    } finally {
      cancel();
    }
  }

  /** The packet size a session asks for. */
  packetSize(): number {
    return this.o.packetSize();
  }
}

/** One session of the host's client with one guest app's server: an HgfsClient and its request log. */
export class GuestHgfsSession {
  readonly client: HgfsClient;
  /** Every request of this session, in the order sent. */
  readonly requests: HgfsRequestRecord[] = [];

  constructor(
    readonly hgfs: GuestHgfs,
    readonly app: string,
    private readonly opts: OpenSessionOptions = {},
  ) {
    this.client = new HgfsClient({
      send: (packet) => this.send(packet),
      maxPacketSize: hgfs.packetSize(),
      ioWindow: opts.ioWindow ?? 8,
    });
  }

  /** Sends one packet as it is, in this session's log (hostile requests). */
  async sendRaw(packet: Uint8Array): Promise<{ reply: Uint8Array; record: HgfsRequestRecord }> {
    const r = await this.hgfs.exchange(this.app, packet);
    this.note(r.record);
    return r;
  }

  /**
   * Statuses by name over the session's requests: `NO_REPLY` for dropped ones, `GARBLED` for a
   * reply that answers nothing, `TRANSPORT` for TCLO failures.
   */
  statuses(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.requests) {
      const k = r.statusName ?? (r.error ? 'TRANSPORT' : r.garbled ? 'GARBLED' : 'NO_REPLY');
      out[k] = (out[k] ?? 0) + 1;
    }
    return out;
  }

  /** Ends the session (DESTROY_SESSION_V4), if one was made; failures are recorded, not thrown. */
  async close(): Promise<void> {
    await this.client.destroySession().catch(() => {});
  }

  private async send(packet: Uint8Array): Promise<Uint8Array> {
    const { reply, record } = await this.hgfs.exchange(this.app, packet);
    this.note(record);
    if (record.error !== undefined) throw new HgfsTransportError(`TCLO f to ${this.app}: ${record.error}`);
    return reply;
  }

  private note(r: HgfsRequestRecord): void {
    this.requests.push(r);
    this.opts.onRequest?.(r);
  }
}

function requestRecord(seq: number, packet: Uint8Array): HgfsRequestRecord {
  let op = -1;
  let malformed = false;
  try {
    op = decodeHeader(packet).op;
  } catch {
    // A malformed request (a test's on purpose): its op if the bytes hold one, else -1.
    malformed = true;
    if (packet.length >= 24)
      op = Buffer.from(packet.buffer, packet.byteOffset, packet.length).readUInt32LE(20);
  }
  return {
    seq,
    op,
    opName: op < 0 ? 'MALFORMED' : opName(op),
    requestBytes: packet.length,
    replyBytes: 0,
    dataBytes:
      op === HgfsOp.WRITE_V3 && !malformed
        ? Math.max(0, packet.length - HGFS_HEADER_SIZE - WRITE_REQUEST_BODY)
        : 0,
    ...(malformed ? { malformed: true as const } : {}),
  };
}

function noteReply(record: HgfsRequestRecord, reply: Uint8Array): void {
  record.replyBytes = reply.length;
  if (reply.length === 0) return;
  let h: ReturnType<typeof decodeHeader>;
  try {
    h = decodeHeader(reply);
  } catch (e) {
    record.garbled = `no readable HGFS header: ${(e as Error).message}`;
    return;
  }
  // vmtoolsd answers a request it cannot read with its whole reply buffer, which still holds the
  // previous reply (docs/protocol/hgfs.md, "The host as client of the guest's server"): not this request's answer.
  if (h.packetSize !== reply.length) {
    record.garbled = `${reply.length} bytes, but its header says ${h.packetSize} (${opName(h.op)}, ${statusName(h.status)}): a stale reply buffer`;
    return;
  }
  record.status = h.status;
  record.statusName = statusName(h.status);
  // READ_V3's reply body begins with actualSize (docs/protocol/hgfs.md §5.3).
  if (record.op === HgfsOp.READ_V3 && h.status === 0 && reply.length >= HGFS_HEADER_SIZE + 4)
    record.dataBytes = Buffer.from(reply.buffer, reply.byteOffset, reply.length).readUInt32LE(
      HGFS_HEADER_SIZE,
    );
}
