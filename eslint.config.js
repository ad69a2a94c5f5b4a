// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import { layer, noCycle, serverLayering } from './eslint.layers.js';

const nodeBuiltins = ['node:*', 'fs', 'path', 'os', 'http', 'https', 'net', 'stream', 'crypto', 'zlib', 'events', 'buffer', 'util', 'child_process'];

// Layering (`layer`, `serverLayering`) and the cycle check live in eslint.layers.js, shared
// with the test that proves they fail (test/architecture/layering.test.ts).

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
  // No import cycles anywhere (type-only imports are erased at run time and not followed; the
  // layering rules below forbid those edges too).
  noCycle(['./tsconfig.test.json', './client-sdk/tsconfig.json', './examples/canvas/tsconfig.json', './examples/inspector/tsconfig.json']),
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
  // The inspector runs in browsers too and talks to the server only over HTTP.
  {
    files: ['examples/inspector/src/**/*.ts'],
    languageOptions: {
      parserOptions: { project: ['./examples/inspector/tsconfig.json'], tsconfigRootDir: import.meta.dirname },
      globals: { ...globals.browser },
    },
  },
  {
    files: ['examples/inspector/vite.config.ts'],
    languageOptions: { parserOptions: { project: ['./examples/inspector/tsconfig.node.json'], tsconfigRootDir: import.meta.dirname } },
  },
  layer(['examples/inspector/src/**/*.ts'], [nodeBuiltins, ['@skein/server', '@skein/server/*', 'ws']], 'the inspector runs in browsers'),
  layer(['examples/canvas/src/**/*.ts'], [nodeBuiltins, ['@skein/server', '@skein/server/*', 'ws']], 'the canvas demo runs in browsers'),
  layer(['client-sdk/src/**/*.ts'], [nodeBuiltins, ['@skein/server', '@skein/server/*', 'ws']], 'client-sdk/ runs in browsers: no Node built-ins, no server code'),
  // The protocol package is pure and browser-safe: no Node built-ins, no server code.
  layer(['protocol/src/**/*.ts'], [nodeBuiltins, ['@skein/server', '@skein/server/*', 'ws', 'yjs']], 'protocol/ is pure and browser-safe'),
  // server/src: the next map's dependency direction (docs/architecture.md, eslint.layers.js).
  ...serverLayering(),
);
