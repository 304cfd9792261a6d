/**
 * `runAgent`: the daemon in the foreground, for `vmw9 agent` and the systemd unit. Loads the
 * configuration, starts the agent and stops it cleanly on SIGTERM or SIGINT (or an abort signal),
 * every socket closed. Resolves when the agent has stopped.
 */
import { Agent, type AgentStartOptions } from './agent.js';
import { type AgentConfig, type LogFormatSetting, type LogLevel, loadConfig } from './config.js';
import type { HostChoice } from './transport.js';

/** Where the configuration is read from when no file is named (absent = defaults). */
export const DEFAULT_CONFIG_PATH = '/etc/vmw9/agent.conf';

export interface RunAgentOptions {
  /** A configuration file; default DEFAULT_CONFIG_PATH if it exists. */
  configFile?: string;
  host?: HostChoice;
  /** Overrides [fs] listen. */
  listen?: string;
  /** Overrides [logging] level. */
  level?: LogLevel;
  /** Overrides [logging] format. */
  logFormat?: LogFormatSetting;
  /** Overrides [dnd] dir: where dropped files are staged. */
  dndDir?: string;
  /** Called once the agent runs (the CLI prints the address). */
  onStarted?: (agent: Agent) => void;
  /** Stops the agent when aborted (besides SIGTERM/SIGINT). */
  signal?: AbortSignal;
  /** Handle SIGTERM and SIGINT (default true). */
  handleSignals?: boolean;
  /** Passed through to Agent.start (tests). */
  start?: Omit<AgentStartOptions, 'config' | 'host' | 'listen'>;
}

export async function runAgent(opts: RunAgentOptions = {}): Promise<void> {
  const config: AgentConfig = await loadConfig(opts.configFile ?? DEFAULT_CONFIG_PATH, {
    optional: opts.configFile === undefined,
  });
  if (opts.level) config.logging.level = opts.level;
  if (opts.logFormat) config.logging.format = opts.logFormat;
  if (opts.dndDir) config.dnd.dir = opts.dndDir;
  const agent = await Agent.start({
    ...opts.start,
    config,
    ...(opts.host ? { host: opts.host } : {}),
    ...(opts.listen ? { listen: opts.listen } : {}),
  });
  opts.onStarted?.(agent);
  await new Promise<void>((resolve) => {
    const signals: NodeJS.Signals[] = opts.handleSignals === false ? [] : ['SIGTERM', 'SIGINT'];
    const onSignal = (sig: NodeJS.Signals) => {
      agent.logger.info({ signal: sig }, 'stopping');
      finish();
    };
    const finish = () => {
      for (const s of signals) process.off(s, onSignal);
      opts.signal?.removeEventListener('abort', finish);
      resolve();
    };
    for (const s of signals) process.on(s, onSignal);
    if (opts.signal?.aborted) finish();
    else opts.signal?.addEventListener('abort', finish, { once: true });
  });
  await agent.stop();
}
