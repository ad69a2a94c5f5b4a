import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ESLint, type Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The dependency direction is enforced by lint (eslint.layers.js, used by eslint.config.js):
 * this lints a small fixture tree with the very same layering blocks and cycle rule, and
 * checks which rule ids fire where — including where nothing may fire.
 */

interface Layers {
  serverLayering(): Linter.Config[];
  noCycle(projects: string[]): Linter.Config;
}

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');

const FIXTURE: Record<string, string> = {
  'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', strict: true }, include: ['server'] }),
  // A value-import cycle inside the core.
  'server/src/documents/a.ts': "import { b } from './b.js';\nexport const a = (): number => b() + 1;\n",
  'server/src/documents/b.ts': "import { a } from './a.js';\nexport const b = (): number => (Math.random() > 2 ? a() : 0);\n",
  // The core imports an adapter; a driver imports another module's telemetry.
  'server/src/documents/uses-telemetry.ts': "import { tel } from '../telemetry/telemetry.js';\nexport const x = tel;\n",
  'server/src/transport/uses-cluster.ts': "import { cl } from '../cluster/cluster.js';\nexport const y = cl;\n",
  // Allowed: a driver imports the core and a leaf; telemetry implements a module's probe port.
  'server/src/transport/fine.ts': "import { a } from '../documents/a.js';\nimport { E } from '../errors/skein-error.js';\nimport type { P } from './probes.js';\nexport const z = (p: P): unknown => [a, E, p];\n",
  'server/src/transport/probes.ts': 'export interface P { readonly n: number }\n',
  'server/src/telemetry/telemetry.ts': "import type { P } from '../transport/probes.js';\nexport const tel = (p: P): number => p.n;\n",
  // Forbidden even to telemetry: a module's internals (only its probes.ts is a port).
  'server/src/telemetry/peeks.ts': "import { z } from '../transport/fine.js';\nexport const w = z;\n",
  'server/src/cluster/cluster.ts': 'export const cl = 1;\n',
  'server/src/errors/skein-error.ts': 'export const E = 1;\n',
};

let dir = '';
let results: ESLint.LintResult[] = [];

/** Rule ids reported for one fixture file. */
function rules(file: string): string[] {
  const result = results.find((r) => r.filePath === join(dir, file));
  if (result === undefined) throw new Error(`${file} was not linted`);
  return result.messages.map((m) => m.ruleId ?? `fatal: ${m.message}`).sort();
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'skein-layering-'));
  for (const [file, text] of Object.entries(FIXTURE)) {
    await mkdir(dirname(join(dir, file)), { recursive: true });
    await writeFile(join(dir, file), text);
  }
  const layers = (await import(pathToFileURL(join(ROOT, 'eslint.layers.js')).href)) as Layers;
  const eslint = new ESLint({
    cwd: dir,
    overrideConfigFile: true,
    overrideConfig: [
      { files: ['**/*.ts'], languageOptions: { parser: tseslint.parser } },
      layers.noCycle([join(dir, 'tsconfig.json')]),
      ...layers.serverLayering(),
    ],
  });
  results = await eslint.lintFiles(['server/**/*.ts']);
}, 60_000);

afterAll(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

describe('lint: dependency direction', () => {
  it('fails on an import cycle (both files)', () => {
    expect(rules('server/src/documents/a.ts')).toEqual(['import-x/no-cycle']);
    expect(rules('server/src/documents/b.ts')).toEqual(['import-x/no-cycle']);
  });

  it('fails when the core imports an adapter, and when a driver imports an adapter', () => {
    expect(rules('server/src/documents/uses-telemetry.ts')).toEqual(['no-restricted-imports']);
    expect(rules('server/src/transport/uses-cluster.ts')).toEqual(['no-restricted-imports']);
  });

  it('fails when telemetry imports a module beyond its probes port', () => {
    expect(rules('server/src/telemetry/peeks.ts')).toEqual(['no-restricted-imports']);
  });

  it('passes the allowed edges: driver → core and leaves, telemetry → a probes port', () => {
    expect(rules('server/src/transport/fine.ts')).toEqual([]);
    expect(rules('server/src/telemetry/telemetry.ts')).toEqual([]);
    expect(rules('server/src/transport/probes.ts')).toEqual([]);
  });
});
