/**
 * The /mnt/vmware tree (docs/protocol/tree.md) over injected services: a file table, each file a
 * class in its group's module (ctl, display, time, power, info, logs, rpc, legacy, snarf and clip/
 * over the clipboard, mouse, guestinfo, hgfs when given a client, and dnd/ when given the agent's
 * drag and drop). This module only builds the shared state, lists the files and feeds the host's
 * events (services.events) to the files that show them.
 */
import { GuestLibClient } from '@vmw9/rpc';
import { Dir, EofMode, File, type Node } from 'ninep';
import { readBalloon } from './balloon.js';
import { CopyPasteClipboard, LegacyClipboard, SwitchingClipboard } from './clipboard.js';
import { TreeCtlFile, type TreeSettings, VersionFile } from './ctl.js';
import { Display, WctlFile } from './display.js';
import { DndDir } from './dnd.js';
import { GuestinfoDir } from './guestinfo.js';
import { HgfsRoot } from './hgfs/index.js';
import { eventLine, type HostEvent } from './host-events.js';
import { InfoDir } from './info.js';
import { DevFile, GuiFile, MsgFile } from './legacy.js';
import { KmesgFile, LogFile, StatsFile } from './logs.js';
import { MemDir, MemWatch, ReaderCountedEventFile } from './mem.js';
import { MousectlFile, MouseFile, MouseSource, PointerFile } from './mouse.js';
import { PowerFile } from './power.js';
import { Rpc1File, RpcDir } from './rpcfiles.js';
import type { FsServices } from './services.js';
import { ClipboardWatch, ClipDir, ClipFile, type ClipSwitch, SnarfWaitFile } from './snarf.js';
import { Counters, countingPort } from './stats.js';
import { BintimeFile, TimectlFile, TimeFile } from './time.js';

export { FS_VERSION } from './ctl.js';

/** How often `events` readers' balloon and session watch polls (docs/protocol/tree.md §19). */
export const DEFAULT_MEM_POLL_MS = 5000;

export interface TreeOptions {
  /** guestinfo keys listed from the start (VMware cannot enumerate them). */
  guestinfoKeys?: string[];
  /** Owner of every file (Plan 9 uid), default `vmware` like aux/vmwarefs. */
  uid?: string;
  /** Files an agent's services contribute, added at the root after the built-in ones. */
  files?: readonly Node[];
}

export interface VmwareTree {
  root: Dir;
  counters: Counters;
  events: ReaderCountedEventFile;
  /** Stops pollers and listeners (the tree is being shut down). */
  close(): void;
  /** Set by the server so `ctl hangup` can drop every client. */
  onHangup?: () => void;
}

/** A contributed file's name is already in the tree. */
export class DuplicateFileError extends Error {
  override readonly name = 'DuplicateFileError';
  constructor(readonly fileName: string) {
    super(`the tree already has a file named "${fileName}"; a contributed file cannot replace it`);
  }
}

export function buildVmwareTree(s: FsServices, opts: TreeOptions = {}): VmwareTree {
  const counters = new Counters();
  const port = countingPort(s.port, counters);
  const clip =
    s.clipboard ??
    new SwitchingClipboard(
      new LegacyClipboard(port),
      s.copyPaste ? new CopyPasteClipboard(s.copyPaste) : undefined,
    );
  // eofmode (docs/protocol/tree.md): one switch, set by ctl, for every event file.
  const settings: TreeSettings = { eofmode: new EofMode(), debug: 0, tclo: s.events ? 'on' : 'off' };
  const events = new ReaderCountedEventFile('events', 0o444, undefined, settings.eofmode);
  // mem/ (§19) and its watch: balloon target and session changes, polled only while events is open.
  const memSources = {
    guestlib: s.mem?.guestlib ?? new GuestLibClient(s.rpc),
    balloon: s.mem?.balloon ?? (() => readBalloon()),
  };
  const memWatch = new MemWatch(
    memSources,
    (line) => events.post(line),
    s.poll?.memMs ?? DEFAULT_MEM_POLL_MS,
    s.mem?.setTimer,
  );
  events.onReaders = (n) => (n > 0 ? memWatch.start() : memWatch.stop());
  const mouse = new MouseSource(port, counters, s.poll?.mouseMs ?? 20);
  const display = new Display();
  const sharing: ClipSwitch = { enabled: true };
  const snarf = new ClipFile('snarf', 'text', true, clip, sharing, counters, () =>
    events.post('snarf set\n'),
  );
  const watch = new ClipboardWatch(clip, s.poll?.snarfMs ?? 500, () => events.post('snarf changed\n'));
  // The host's pushes and requests, announced under copy/paste v4 (docs/protocol/tree.md §8).
  const unsubscribeClip = clip.subscribe((n) => {
    if (n.type === 'host') {
      watch.hostChanged(n.text);
      events.post('snarf changed\n');
      events.post(`${['clip host', ...n.formats].join(' ')}\n`);
    } else events.post(`${['clip sent', ...n.formats].join(' ')}\n`);
  });
  const power = new PowerFile(s.power, settings.eofmode);
  const guestinfo = new GuestinfoDir(s.rpc, counters);
  if (opts.guestinfoKeys) guestinfo.declare(opts.guestinfoKeys);

  const files: Node[] = [
    new TreeCtlFile({
      port,
      rpc: s.rpc,
      settings,
      snarf: sharing,
      clipboard: clip,
      mouse,
      hangup: () => tree.onHangup?.(),
    }),
    new VersionFile(port, s, clip),
    snarf,
    new ClipDir(clip, sharing, counters, (f) => events.post(`clip set ${f}\n`)),
    new SnarfWaitFile(watch, settings.eofmode),
    new MouseFile(mouse, port, display, settings.eofmode),
    new PointerFile(port),
    new MousectlFile(mouse),
    new WctlFile(display, port, settings.eofmode),
    new TimeFile(port),
    new BintimeFile(port),
    new TimectlFile(port, s.timeSync),
    events,
    power,
    new LogFile(s.rpc, counters),
    new KmesgFile(s.kmesg),
    new StatsFile(counters),
    new InfoDir(port),
    new MemDir(memSources),
    guestinfo,
    new RpcDir(port),
    new Rpc1File(s.rpc, counters),
    new GuiFile(port),
    new DevFile(port),
    new MsgFile(port),
  ];
  if (s.hgfs) files.push(new HgfsRoot({ owner: opts.uid ?? 'vmware', ...s.hgfs }));
  // Drag and drop (§18): its records also go to `events`, after dnd/events has them.
  const dnd = s.dnd ? new DndDir(s.dnd, settings.eofmode, (line) => events.post(`dnd ${line}\n`)) : undefined;
  if (dnd) files.push(dnd);
  const root = new Dir('/', 0o555, opts.uid ?? 'vmware');
  for (const n of files) root.add(n);
  for (const n of opts.files ?? []) {
    if (root.children.has(n.name)) throw new DuplicateFileError(n.name);
    root.add(n);
  }
  if (opts.uid) for (const n of walkNodes(root)) n.uid = n.gid = n.muid = opts.uid;

  // What the host tells the agent: a line in `events` for each, after the file it concerns changed.
  const onHostEvent = (e: HostEvent) => {
    if (e.type === 'resolution') display.hostRequest(e.width, e.height);
    else if (e.type === 'power' && e.outcome === undefined) power.hostRequest(e.state);
    else if (e.type === 'command') counters.add('tcloCommands');
    const line = eventLine(e);
    if (line !== null) events.post(`${line}\n`);
  };
  const unsubscribe = s.events?.subscribe(onHostEvent);

  const tree: VmwareTree = {
    root,
    counters,
    events,
    close() {
      mouse.stop();
      watch.stop();
      memWatch.stop();
      unsubscribe?.();
      unsubscribeClip();
      dnd?.close();
    },
  };
  return tree;
}

function* walkNodes(d: Dir): Generator<Dir | File> {
  yield d;
  for (const c of d.children.values()) {
    if (c instanceof Dir) yield* walkNodes(c);
    else if (c instanceof File) yield c;
  }
}
