import { BackdoorError, RPCI_FAILURE, RPCI_SUCCESS } from '@vmw9/backdoor';

/** An RPCI reply: `1 …` (ok) or `0 …` (the host's error text). */
export interface RpcReply {
  ok: boolean;
  /** The bytes after the `1 ` / `0 ` prefix. */
  reply: Buffer;
  /** `reply` as UTF-8 text. */
  text: string;
}

/** The host answered something that is not `1 …` / `0 …` (rpcout.c: "Invalid format for the result"). */
export class RpcProtocolError extends BackdoorError {
  override name = 'RpcProtocolError';
  constructor(readonly raw: Buffer) {
    super(
      `invalid format for the result of the RPCI command: ${JSON.stringify(raw.subarray(0, 40).toString('latin1'))}${raw.length > 40 ? '…' : ''}`,
    );
  }
}

/** The host answered `0 …`: the command failed there. */
export class RpcFailed extends BackdoorError {
  override name = 'RpcFailed';
  constructor(
    readonly command: string,
    readonly reply: string,
  ) {
    super(`the host refused "${command}": ${reply}`);
  }
}

/** Parses a reply the way rpcout.c does: at least 2 bytes, `1 ` or `0 `. */
export function parseReply(raw: Buffer | null): RpcReply {
  const prefix = raw?.subarray(0, 2).toString('latin1');
  if (!raw || (prefix !== RPCI_SUCCESS && prefix !== RPCI_FAILURE))
    throw new RpcProtocolError(raw ?? Buffer.alloc(0));
  const reply = raw.subarray(2);
  // The text is made when first asked for: binary replies (HGFS, half a megabyte each) never are.
  let text: string | undefined;
  return {
    ok: prefix === RPCI_SUCCESS,
    reply,
    get text() {
      text ??= reply.toString('utf8');
      return text;
    },
  };
}
