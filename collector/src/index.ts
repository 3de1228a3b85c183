export * from './apply.js';
export * from './plugin.js';
export * from './metrics.js';
