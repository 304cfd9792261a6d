/** The agent's typed errors: each says what went wrong and where, in words a user can act on. */

/** A configuration file is wrong: the file, the line (0 when the file as a whole) and why. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(line > 0 ? `${file}:${line}: ${reason}` : `${file}: ${reason}`);
  }
}

/** The agent cannot reach the host it was asked for (native backdoor absent, simulator socket gone…). */
export class TransportError extends Error {
  override readonly name = 'TransportError';
}

/** A power-operation script or system command failed (non-zero exit, signal, timeout, not found). */
export class CommandFailed extends Error {
  override readonly name = 'CommandFailed';
  constructor(
    readonly command: string,
    reason: string,
  ) {
    super(`${command}: ${reason}`);
  }
}

/** Two services (or a service and the core) claim the same command, option, capability, file or name. */
export class ServiceConflict extends Error {
  override readonly name = 'ServiceConflict';
  constructor(
    readonly service: string,
    readonly what: string,
    /** Who has it: `the service "NAME"` or `the agent core`. */
    readonly claimedBy: string,
  ) {
    super(`the service "${service}" claims ${what}, which ${claimedBy} already has`);
  }
}
