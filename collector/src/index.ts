export * from './apply.js';
export * from './plugin.js';
export * from './metrics.js';
export * from './auth.js';
export * from './chain.js';
export * from './nats-consumer.js';
export * from './stream.js';
