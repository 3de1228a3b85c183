export * from './apply.js';
export * from './plugin.js';
export * from './metrics.js';
export * from './auth.js';
export * from './chain.js';
