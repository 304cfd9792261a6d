/** Exit codes of every vmw9 command. */
export const Exit = {
  OK: 0,
  /** The operation failed: no backdoor answered, the host refused, … */
  FAILED: 1,
  /** The command line was wrong. */
  USAGE: 2,
} as const;

/** An error that ends the command with a message for people and an exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = Exit.FAILED,
    /** Extra fields for --json output. */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}
