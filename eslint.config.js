// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

const nodeBuiltins = ['node:*', 'fs', 'path', 'os', 'http', 'https', 'net', 'stream', 'crypto', 'zlib', 'events', 'buffer', 'util', 'child_process'];

/** Layering: which folders of server/src may not import which (see docs/architecture.md). */
const layer = (files, patterns, message) => ({
  files,
  rules: { 'no-restricted-imports': ['error', { patterns: patterns.map((group) => ({ group, message })) }] },
});

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'coverage/**', 'data/**', '**/*.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { project: ['./tsconfig.test.json'], tsconfigRootDir: import.meta.dirname },
      globals: { ...globals.node },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  // Tests may log the seed of a randomized run, and may poke at loosely typed internals.
  {
    files: ['**/test/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', 'vitest.config.ts'],
    rules: {
      'no-console': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
    },
  },
  // The client SDK runs in browsers: linted against its own tsconfig (DOM, no Node types).
  {
    files: ['client-sdk/src/**/*.ts'],
    languageOptions: {
      parserOptions: { project: ['./client-sdk/tsconfig.json'], tsconfigRootDir: import.meta.dirname },
      globals: { ...globals.browser },
    },
  },
  // The canvas demo runs in browsers (DOM, Vite); its Vite config runs in Node.
  {
    files: ['examples/canvas/src/**/*.ts'],
    languageOptions: {
      parserOptions: { project: ['./examples/canvas/tsconfig.json'], tsconfigRootDir: import.meta.dirname },
      globals: { ...globals.browser },
    },
  },
  {
    files: ['examples/canvas/vite.config.ts'],
    languageOptions: { parserOptions: { project: ['./examples/canvas/tsconfig.node.json'], tsconfigRootDir: import.meta.dirname } },
  },
  layer(['examples/canvas/src/**/*.ts'], [nodeBuiltins, ['@skein/server', '@skein/server/*', 'ws']], 'the canvas demo runs in browsers'),
  layer(['client-sdk/src/**/*.ts'], [nodeBuiltins, ['@skein/server', '@skein/server/*', 'ws']], 'client-sdk/ runs in browsers: no Node built-ins, no server code'),
  // The protocol package is pure and browser-safe: no Node built-ins, no server code.
  layer(['protocol/src/**/*.ts'], [nodeBuiltins, ['@skein/server', '@skein/server/*', 'ws', 'yjs']], 'protocol/ is pure and browser-safe'),
  // transport/ knows documents, not storage engines or the cluster.
  layer(['server/src/transport/**/*.ts'], [['**/persistence/*', '**/cluster/*', 'classic-level', 'ioredis']], 'transport/ must not know storage or cluster'),
  // documents/ talks to storage through the DocumentStore interface only.
  layer(['server/src/documents/**/*.ts'], [['**/persistence/level*', '**/persistence/memory*', '**/persistence/*/**', '**/transport/*', '**/cluster/*', 'classic-level', 'ioredis', 'ws']], 'documents/ sees only the DocumentStore interface'),
  // persistence/ knows nothing of sockets.
  layer(['server/src/persistence/**/*.ts'], [['**/transport/*', '**/documents/*', '!**/documents/ports.js', 'ws']], 'persistence/ must not know sockets or documents'),
  // cluster/ replicates documents through Redis: no sockets, no storage engine; it reads the
  // replication outbox through the core's port (documents/ports.ts), handed in by server.ts.
  layer(['server/src/cluster/**/*.ts'], [['**/transport/*', '**/persistence/*', 'classic-level', 'ws']], 'cluster/ must not know transport or storage engines (use the ports in documents/ports.ts)'),
  // crdt/ holds shared CRDT codecs (compaction): a leaf that imports no other server module.
  layer(['server/src/crdt/**/*.ts'], [['../*', '../../*', 'classic-level', 'ioredis', 'ws']], 'crdt/ is a leaf: it imports no other server module'),
  layer(['server/src/http/**/*.ts'], [['**/persistence/*', 'classic-level', 'ioredis']], 'http/ reads through the registry, never the store'),
);
