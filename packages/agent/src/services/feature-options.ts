/**
 * The Set_Option names of vmtoolsd features this agent does not have: copy/paste and drag and drop
 * (the tree's snarf uses the backdoor clipboard, which the host gates itself), HGFS shares, the
 * message bus tunnel, app info, GuestStore, the device helper, guest log levels. The host sends
 * them at every registration; they are accepted rather than refused so its log stays clean, and
 * like every option they are kept in `agent.options` and shown in the tree's `events`.
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
