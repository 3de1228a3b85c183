export * from './ids.js';
export * from './errors.js';
export * from './graph.js';
export * from './batch.js';
export * from './transport.js';
export * from './tenancy.js';
export * from './origin.js';
export * from './view.js';
