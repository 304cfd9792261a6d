// The byte vectors of docs/protocol/dndcp.md §6.4 (the worked example).

export const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** The clipboard holding the text "hi" (58 bytes). */
export const HI_CLIPBOARD = hex(`0b000000  01 03000000 686900  ${'00 00000000 '.repeat(9)} 01`);
/** The header of SEND_CLIPBOARD session 7, isActive 0, carrying HI_CLIPBOARD, as vmtoolsd writes it. */
export const SEND_CLIPBOARD_7_HEADER = hex(`
  d3070000 03000000 02000000 07000000 00000000
  04000000 00000000 00000000 00000000 00000000 00000000
  3a000000 00000000 3a000000`);
export const CP_WORD = hex('636f70797061737465 2e 7472616e73706f7274 20');

// The byte vectors of docs/protocol/dndcp.md §9.6 (drag and drop).

export const DND_WORD = hex('646e64 2e 7472616e73706f7274 20'); // "dnd.transport "
/** CPName of the staging directory /tmp/VMwareDnD/XXXXXX/ (25 bytes). */
export const STAGING_CPNAME = hex('726f6f74 00 746d70 00 564d77617265446e44 00 585858585858');
/** SRC_DROP_DONE, session 9, carrying STAGING_CPNAME, as vmtoolsd writes it. */
export const SRC_DROP_DONE_9_HEADER = hex(`
  f0030000 03000000 01000000 09000000 00000000
  00000000 00000000 00000000 00000000 00000000 00000000
  19000000 00000000 19000000`);
/** The FILELIST of /home/u/a.txt, 5 bytes in all (43 bytes). */
export const A_TXT_FILELIST = hex(`
  0500000000000000 06000000 15000000
  612e74787400
  11000000 726f6f74 00 686f6d65 00 75 00 612e747874`);
/** Its FILELIST_URI: file:///home/u/a.txt (33 bytes). */
export const A_TXT_URI_FILELIST = hex(`
  0500000000000000 15000000
  66696c653a2f2f2f686f6d652f752f612e74787400`);
/** The clipboard of DEST_DRAG_ENTER offering /home/u/a.txt (131 bytes). */
export const A_TXT_CLIPBOARD = Buffer.concat([
  hex('0b000000 00 00000000 01 2b000000'),
  A_TXT_FILELIST,
  hex('00 00000000 01 21000000'),
  A_TXT_URI_FILELIST,
  hex(`${'00 00000000 '.repeat(6)} 01`),
]);
/** DEST_DRAG_ENTER, session 5, p1 4, p2 0, carrying A_TXT_CLIPBOARD. */
export const DEST_DRAG_ENTER_5_HEADER = hex(`
  e8030000 03000000 01000000 05000000 00000000
  04000000 00000000 00000000 00000000 00000000 00000000
  83000000 00000000 83000000`);
/** A host clipboard with a FILELIST of one file "f" of 1 byte, host path opaque. */
export const filesClipboardBytes = Buffer.concat([
  hex('0b000000 00 00000000 01 1a000000'),
  hex('0100000000000000 02000000 08000000 6600 04000000 433a5c66'),
  hex(`${'00 00000000 '.repeat(8)} 01`),
]);
