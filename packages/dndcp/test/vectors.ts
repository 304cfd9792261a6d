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
