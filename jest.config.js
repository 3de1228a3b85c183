// Tests run as ES modules (execa is ESM-only): swc strips types, jest runs with --experimental-vm-modules.
const workspaces = ['model', 'store', 'agent', 'collector', 'graph-service'];
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2023' }, module: { type: 'es6' } }],
  },
  moduleNameMapper: {
    ...Object.fromEntries(workspaces.map((w) => [`^@faasprov/${w}$`, `<rootDir>/${w}/src/index.ts`])),
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testMatch: ['<rootDir>/*/src/**/*.test.ts', '<rootDir>/test/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  // make demo leaves the shop's build folders and dependencies, and the install step keeps the templates'
  // dependencies in .tools (their package.json names repeat the templates').
  modulePathIgnorePatterns: ['<rootDir>/examples/[^/]+/(build|template|\.faasprov)/', '<rootDir>/\.tools/'],
  testTimeout: 60000,
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
};
