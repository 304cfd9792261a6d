/**
 * The Set_Option names, on the system channel `toolbox`, of vmtoolsd features this agent does not
 * have there: copy/paste and drag and drop (copy/paste is the copypaste service's, on the user
 * session's channel `toolbox-dnd`, where vmusr takes these two options; here they change nothing),
 * HGFS shares, the message bus tunnel, app info, GuestStore, the device helper, guest log levels.
 * The host sends them at every registration; they are accepted rather than refused so its log
 * stays clean, and like every option they are kept in `agent.options` and shown in the tree's
 * `events`.
 */
import type { AgentService, OptionHandler, ServiceContext } from '../service.js';

const OPTIONS = [
  'copypaste',
  'autohide',
  'enableDnD',
  'mapRootHgfsShare',
  'linkRootHgfsShare',
  'enableMessageBusTunnel',
  'guestLogLevel',
  'enableAppInfo',
  'enableGuestStoreAccess',
  'enableDeviceHelper',
];

export function featureOptionsService(ctx: ServiceContext) {
  const noted: OptionHandler = (value, name) =>
    ctx.logger.debug(
      { option: name, value },
      'the host set an option for a feature this agent does not have',
    );
  return {
    name: 'feature-options',
    options: Object.fromEntries(OPTIONS.map((name) => [name, noted])),
  } satisfies AgentService;
}
