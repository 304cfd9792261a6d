export { Agent, type AgentStartOptions } from './agent.js';
export {
  type AgentConfig,
  DEFAULT_EXCLUDE_NICS,
  defaultConfig,
  defaultConfigText,
  LOG_FORMATS,
  type LogFormat,
  type LogFormatSetting,
  type LogLevel,
  loadConfig,
  parseConfig,
  parseDuration,
  SETTINGS,
} from './config.js';
export { type DiskUsage, diskInfoJson, diskUsage, PSEUDO_FS, parseMounts } from './disks.js';
export { CommandFailed, ConfigError, ServiceConflict, TransportError } from './errors.js';
export { BadGlob, compileGlob, GlobList } from './glob.js';
export { type GuestFacts, GuestInfoReporter } from './guestinfo.js';
export { AGENT_NAME, AGENT_VERSION, GUEST_CONF_DIRECTORY, TOOLS_VERSION } from './identity.js';
export { AgentLog, chooseLogFormat, type LogOptions } from './log.js';
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
export { PowerOps, type PowerOutcome } from './power.js';
export { DEFAULT_CONFIG_PATH, type RunAgentOptions, runAgent } from './run.js';
export {
  type AgentService,
  type OptionHandler,
  type ServiceContext,
  type ServiceFactory,
  SYSTEM_APP,
  type TcloApp,
  type TreeHooks,
} from './service.js';
export { copyPasteService } from './services/copypaste.js';
export { type DndService, dndService } from './services/dnd.js';
export { featureOptionsService } from './services/feature-options.js';
export { guestInfoService } from './services/guestinfo.js';
export { hgfsService } from './services/hgfs.js';
export { SERVICES } from './services/index.js';
export { powerService } from './services/power.js';
export { resolutionService } from './services/resolution.js';
export { timeSyncService } from './services/timesync.js';
export {
  defaultStagingRoot,
  prepareStagingRoot,
  StagingArea,
  type StagingAreaOptions,
  StagingError,
} from './staging.js';
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
