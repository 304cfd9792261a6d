/** The built-in services, in the order the host hears of them (capabilities, start). Add one here. */
import { copyPasteService } from './copypaste.js';
import { dndService } from './dnd.js';
import { featureOptionsService } from './feature-options.js';
import { guestInfoService } from './guestinfo.js';
import { hgfsService } from './hgfs.js';
import { powerService } from './power.js';
import { resolutionService } from './resolution.js';
import { timeSyncService } from './timesync.js';

export const SERVICES = [
  powerService,
  timeSyncService,
  guestInfoService,
  resolutionService,
  featureOptionsService,
  hgfsService,
  copyPasteService,
  dndService,
] as const;
