export {
  AGENT_NAME,
  AGENT_VERSION,
  Agent,
  type AgentStartOptions,
  GUEST_CONF_DIRECTORY,
  KNOWN_OPTIONS,
  TOOLS_VERSION,
} from './agent.js';
export {
  type AgentConfig,
  DEFAULT_EXCLUDE_NICS,
  defaultConfig,
  defaultConfigText,
  type LogLevel,
  loadConfig,
  type PowerState,
  parseConfig,
  parseDuration,
  SETTINGS,
} from './config.js';
export { type DiskUsage, diskInfoJson, diskUsage, PSEUDO_FS, parseMounts } from './disks.js';
export { CommandFailed, ConfigError, TransportError } from './errors.js';
export { BadGlob, compileGlob, GlobList } from './glob.js';
export { type GuestFacts, GuestInfoReporter, INFO_IPADDRESS_V2, INFO_IPADDRESS_V3 } from './guestinfo.js';
export { AgentLog, type LogOptions } from './log.js';
export {
  MAX_NICS,
  type Nic,
  type NicAddress,
  type NicFilter,
  nicsText,
  primaryIp,
  selectNics,
} from './nics.js';
export { type DecodedNic, decodeNicInfoV3, encodeNicInfoV3, XdrError } from './nicxdr.js';
export { POWER_COMMANDS, PowerOps, type PowerOutcome } from './power.js';
export { DEFAULT_CONFIG_PATH, type RunAgentOptions, runAgent } from './run.js';
export { type OsNames, osNames, parseOsRelease, uptimeHundredths, vmwareOsId } from './system.js';
export {
  detectNtpDaemon,
  NTP_DAEMONS,
  type SetClock,
  type SyncResult,
  setSystemClock,
  TimeSync,
} from './timesync.js';
export { EMBEDDED_SIM, type HostChoice, openTransport, type Transport } from './transport.js';
