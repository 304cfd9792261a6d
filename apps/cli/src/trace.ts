/**
 * The global `--trace`: every GuestRPC message a command sends or receives, one line each on
 * standard error (`vmw9 trace: rpci out 20 info-get guestinfo.k`), through @vmw9/rpc's
 * TracingChannel. A debugging aid: the line format is for people, not for scripts.
 */
import type { TraceRecord, TraceSink } from '@vmw9/rpc';

export interface TraceOptions {
  trace?: boolean;
}

/** The `trace` option for RpciClient.overPort / TcloLoop.overPort: a stderr sink when asked. */
export function traceOption(
  opts: TraceOptions,
  rpc: Pick<typeof import('@vmw9/rpc'), 'formatTraceRecord'>,
): { trace?: TraceSink } {
  if (!opts.trace) return {};
  return {
    trace: (r: TraceRecord) => process.stderr.write(`vmw9 trace: ${rpc.formatTraceRecord(r)}\n`),
  };
}
