// @ts-check
/**
 * The dependency direction of server/src (docs/architecture.md, "Dependency direction"):
 *
 *   composition root (server.ts, index.ts, cli/, health/)  ─► everything
 *   drivers   transport/ http/                 ─► auth/, core, leaves
 *   policy    auth/                            ─► core, leaves (the access policy both drivers ask)
 *   adapters  persistence/ cluster/ webhooks/ telemetry/ ─► core, leaves
 *   core      documents/                       ─► leaves
 *             history/                         ─► documents/, leaves
 *   leaves    config/ errors/ clock/ logging/ crdt/ resilience/ version.ts, @skein/protocol ─► leaves
 *
 * Drivers and adapters never import each other (what two share moves to a leaf). Nothing but
 * the composition root imports telemetry/: modules declare probe ports (`<module>/probes.ts`,
 * which import only leaves) and telemetry implements them, so telemetry alone may import
 * other modules' `probes.ts`. Only telemetry and logging/ import the OpenTelemetry API.
 */

import { importX } from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

export const LEAVES = ['config', 'errors', 'clock', 'logging', 'crdt', 'resilience'];
export const CORE = ['documents', 'history'];
/** The access policy: drivers ask it; it knows the core and leaves. */
export const POLICY = ['auth'];
export const DRIVERS = ['transport', 'http'];
export const ADAPTERS = ['persistence', 'cluster', 'webhooks', 'telemetry'];
/** Owned by the composition root: only it imports them. */
export const ROOT_OWNED = ['health', 'cli'];
const ALL = [...LEAVES, ...CORE, ...POLICY, ...DRIVERS, ...ADAPTERS, ...ROOT_OWNED];

/** Import-path patterns of a folder of server/src (relative imports, e.g. `../cluster/cluster.js`). */
const folder = (name) => `**/${name}/**`;
const ROOT_FILES = ['**/server.js', '../index.js'];
const OTEL = ['@opentelemetry/*'];

/**
 * Edges that break the direction today, each waiting for its owner's change (listed in
 * docs/architecture.md). Each is one file's one import; nothing else gets through.
 */
export const KNOWN_DEBTS = {

  // the config schema validates persistence rules with the engine's parser (should move to config/).
  config: ['**/persistence/strategy-rules.js'],
};

/**
 * @param {string} name a folder of server/src
 * @param {readonly string[]} allowed folders it may import besides itself
 * @param {readonly string[]} [extra] more forbidden patterns (packages)
 * @param {readonly string[]} [exceptions] patterns let through (negated)
 */
function forbidden(name, allowed, extra = [], exceptions = []) {
  const banned = ALL.filter((f) => f !== name && !allowed.includes(f)).map(folder);
  return [...banned, ...ROOT_FILES, ...extra, ...exceptions.map((e) => `!${e}`)];
}

/**
 * A `no-restricted-imports` block: in `files`, imports matching any group of `patterns` fail.
 * @param {string[]} files
 * @param {string[][]} patterns
 * @param {string} message
 * @returns {import('eslint').Linter.Config}
 */
export function layer(files, patterns, message) {
  return { files, rules: { 'no-restricted-imports': ['error', { patterns: patterns.map((group) => ({ group, message })) }] } };
}

/**
 * `import-x/no-cycle` on every TypeScript file, resolving `.js` specifiers to their `.ts`
 * sources through `projects`. Type-only imports are erased at run time and not followed (the
 * layering blocks forbid those edges too).
 * @param {string[]} projects tsconfig files
 * @returns {import('eslint').Linter.Config}
 */
export function noCycle(projects) {
  return {
    files: ['**/*.ts'],
    plugins: { 'import-x': /** @type {any} */ (importX) },
    settings: {
      // import-x follows only files with these extensions, parsed with this parser.
      'import-x/extensions': ['.ts', '.js', '.mjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: projects, noWarnOnMultipleProjects: true })],
    },
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] },
  };
}

/**
 * One `no-restricted-imports` block per folder of server/src (a later block replaces an
 * earlier one's rule for the same file, so each file gets exactly one).
 * @returns {import('eslint').Linter.Config[]}
 */
export function serverLayering() {
  const src = (/** @type {string} */ name) => [`server/src/${name}/**/*.ts`];
  const blocks = [];
  for (const name of LEAVES) {
    blocks.push(layer(src(name), [forbidden(name, LEAVES, name === 'logging' ? [] : OTEL, KNOWN_DEBTS[name])], `${name}/ is a leaf: it imports only other leaves`));
  }
  blocks.push(layer(src('documents'), [forbidden('documents', LEAVES, [...OTEL, 'classic-level', 'ioredis', 'ws'])], 'documents/ is the core: it imports only leaves (adapters plug into its ports)'));
  blocks.push(layer(src('history'), [forbidden('history', [...LEAVES, 'documents'], [...OTEL, 'classic-level', 'ioredis', 'ws'])], 'history/ is core: it imports documents/ and leaves only (versions reach the store through the VersionStore port)'));
  const packages = {
    transport: ['classic-level', 'ioredis'],
    http: ['classic-level', 'ioredis'],
    persistence: ['ws', 'ioredis'],
    cluster: ['ws', 'classic-level'],
    webhooks: ['ws', 'classic-level', 'ioredis'],
  };
  for (const name of DRIVERS) {
    blocks.push(layer(src(name), [forbidden(name, [...LEAVES, ...CORE, ...POLICY], [...OTEL, ...(packages[name] ?? [])], KNOWN_DEBTS[name])],
      `${name}/ imports auth/, the core and leaves only: never another driver or adapter, never telemetry/ (report through ${name}/probes.ts)`));
  }
  for (const name of ['persistence', 'cluster', 'webhooks']) {
    blocks.push(layer(src(name), [forbidden(name, [...LEAVES, ...CORE], [...OTEL, ...(packages[name] ?? [])], KNOWN_DEBTS[name])],
      `${name}/ imports the core and leaves only: never another driver or adapter, never telemetry/ (report through ${name}/probes.ts)`));
  }
  blocks.push(layer(src('auth'), [forbidden('auth', [...LEAVES, ...CORE], [...OTEL, 'ws', 'classic-level', 'ioredis'])],
    'auth/ is the access policy: it imports the core and leaves only (drivers ask it)'));
  blocks.push(layer(src('telemetry'), [forbidden('telemetry', [...LEAVES, ...CORE], ['ws', 'classic-level', 'ioredis'], ALL.map((f) => `**/${f}/probes.js`))],
    'telemetry/ is an adapter: it implements the probe ports (`<module>/probes.ts`) and imports nothing else of the other modules'));
  blocks.push(layer(src('health'), [forbidden('health', [...LEAVES, ...CORE], [...OTEL, 'ws', 'classic-level', 'ioredis'])],
    'health/ reads the modules through its read-only views (the composition root builds them)'));
  // A probe port imports only leaves: telemetry may import it without importing its module.
  blocks.push(layer(['server/src/*/probes.ts'], [forbidden('probes', LEAVES, OTEL)], 'a probes.ts port imports only leaves'));
  return blocks;
}
