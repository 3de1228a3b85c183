export * from './errors.js';
export * from './server.js';
export * from './queries/trace.js';
export * from './format/index.js';
export * from './queries/paths.js';
export * from './queries/timeline.js';
export * from './queries/invocation.js';
export * from './queries/instances.js';
