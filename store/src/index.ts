export * from './graph-store.js';
export * from './sqlite-store.js';
export * from './errors.js';
