export * from './graph-store.js';
export * from './sqlite-store.js';
export * from './errors.js';
export * from './neo4j-store.js';
export * from './open.js';
export * from './sqlite-runtime.js';
export * from './sqlite-size.js';
export * from './sqlite-read.js';
