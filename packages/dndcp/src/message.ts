// A whole message, after reassembly: the header's meaningful fields and the binary
// (docs/protocol/dndcp.md §3.1, §4.2).

export interface DndCpMessage {
  cmd: number;
  sessionId: number;
  /** Default 0 (SUCCESS). */
  status?: number;
  /** param1..param6; up to 6, missing ones are 0. */
  params?: number[];
  /** Default empty. */
  binary?: Uint8Array;
}

/** A received message: every field present, params always 6. */
export type DndCpReceivedMessage = Required<DndCpMessage> & { params: number[]; binary: Buffer };
