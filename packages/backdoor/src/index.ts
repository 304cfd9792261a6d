export * from './call.js';
export * from './commands.js';
export * from './constants.js';
export * from './errors.js';
export * from './port.js';
export * from './vmmouse.js';
