/**
 * The tree on this branch still listens to an EventEmitter (`event` lines, `resolution`, `power`)
 * while the agent publishes typed HostEvents. This adapter bridges the two until
 * FsServices.events takes a HostEventSource; then the hub is passed as it is and this goes.
 */
import { EventEmitter } from 'node:events';
import { type EventSource, eventLine, type HostEventSource } from '@vmw9/fs';

export function legacyEventEmitter(source: HostEventSource): EventSource {
  const emitter = new EventEmitter();
  source.subscribe((e) => {
    if (e.type === 'resolution') emitter.emit('resolution', e.width, e.height);
    if (e.type === 'power' && !e.outcome) emitter.emit('power', e.state);
    emitter.emit('event', eventLine(e));
  });
  return emitter;
}
