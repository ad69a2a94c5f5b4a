import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { z } from 'zod';
import { SkeinError } from '../errors/skein-error.js';
import { describeSchema, fromJson, fromText, WRONG_TYPE, type ValueShape } from './describe.js';
import { OPTIONS, type Config, type OptionSpec } from './schema.js';
import { closest } from './suggest.js';

/** `--config <file>`: path of a JSON config file. */
export const CONFIG_FILE_FLAG = 'config';
/** `SKEIN_CONFIG=<file>`: path of a JSON config file (the flag wins). */
export const CONFIG_FILE_ENV = 'SKEIN_CONFIG';

/** Text values by name: parsed CLI flags (keyed by flag, no dashes) or environment variables. */
export type TextValues = Readonly<Record<string, string | undefined>>;

export interface LoadConfigInput {
  /** Parsed CLI flag values keyed by flag without dashes (`port`, `data-dir`, `config`). */
  readonly argv?: TextValues;
  /** Environment variables; the CLI passes `process.env`. Nothing is read when absent. */
  readonly env?: NodeJS.ProcessEnv | TextValues;
  /** Path of a JSON config file; when absent, `--config` then `SKEIN_CONFIG` name it. */
  readonly file?: string;
}

/** Where a value came from, to name it the way the user wrote it. */
export type ValueOrigin =
  | { readonly kind: 'flag'; readonly flag: string }
  | { readonly kind: 'env'; readonly name: string }
  | { readonly kind: 'file'; readonly path: string; readonly key: string };

const SPECS: readonly OptionSpec[] = OPTIONS;
const FILE_KEYS: ReadonlySet<string> = new Set(SPECS.map((s) => s.key));

/**
 * Build the one validated, frozen `Config`. Precedence per option: CLI flag > environment
 * variable > config file > default. Every value given is validated, including one that a
 * higher source overrides (a bad value is a mistake wherever it sits).
 *
 * @throws SkeinError `SKEIN_ERR_CONFIG_INVALID` with a one-line message naming the flag,
 *   variable or file key, or the file that cannot be read or parsed.
 */
export function loadConfig(input: LoadConfigInput = {}): Config {
  const argv = input.argv ?? {};
  const env: TextValues = input.env ?? {};
  const path = locateConfigFile(input.file, argv, env);
  const file = path === undefined ? {} : readConfigFile(path.path, path.via);
  const config: Record<string, unknown> = {};
  for (const spec of SPECS) {
    config[spec.key] = resolveOption(spec, argv, env, file, path?.path);
  }
  return Object.freeze(config) as Config;
}

/** `--port`, `SKEIN_PORT (environment)` or `"port" in /abs/config.json`. */
function describeOrigin(origin: ValueOrigin): string {
  switch (origin.kind) {
    case 'flag':
      return `--${origin.flag}`;
    case 'env':
      return `${origin.name} (environment)`;
    case 'file':
      return `"${origin.key}" in ${origin.path}`;
  }
}

function resolveOption(
  spec: OptionSpec,
  argv: TextValues,
  env: TextValues,
  file: Readonly<Record<string, unknown>>,
  filePath: string | undefined,
): unknown {
  const shape = describeSchema(spec.schema);
  const found: unknown[] = [];
  const flagText = argv[spec.flag];
  if (flagText !== undefined) {
    found.push(validate(spec, shape, fromText(shape.kind, flagText), flagText, { kind: 'flag', flag: spec.flag }));
  }
  const envText = env[spec.env];
  if (envText !== undefined) {
    found.push(validate(spec, shape, fromText(shape.kind, envText), envText, { kind: 'env', name: spec.env }));
  }
  if (filePath !== undefined && Object.hasOwn(file, spec.key)) {
    const raw = file[spec.key];
    found.push(validate(spec, shape, fromJson(shape.kind, raw), raw, { kind: 'file', path: filePath, key: spec.key }));
  }
  return found.length > 0 ? found[0] : spec.default;
}

function validate(spec: OptionSpec, shape: ValueShape, value: unknown, raw: unknown, origin: ValueOrigin): unknown {
  let issues: readonly z.core.$ZodIssue[] = [];
  if (value !== WRONG_TYPE) {
    const result = spec.schema.safeParse(value);
    if (result.success) return result.data;
    issues = result.error.issues;
  }
  const custom = issues.find((issue) => issue.code === 'custom');
  const reason =
    custom !== undefined || shape.expected === undefined
      ? (custom ?? issues[0])?.message ?? 'not accepted'
      : `expected ${shape.expected}`;
  const shown = spec.sensitive === true ? 'a hidden value' : showValue(raw);
  return configError(`invalid value for ${describeOrigin(origin)}: ${reason}, got ${shown}`);
}

function locateConfigFile(
  file: string | undefined,
  argv: TextValues,
  env: TextValues,
): { path: string; via: string | undefined } | undefined {
  if (file !== undefined) return { path: resolve(file), via: undefined };
  const candidates: ReadonlyArray<[string | undefined, ValueOrigin]> = [
    [argv[CONFIG_FILE_FLAG], { kind: 'flag', flag: CONFIG_FILE_FLAG }],
    [env[CONFIG_FILE_ENV], { kind: 'env', name: CONFIG_FILE_ENV }],
  ];
  for (const [value, origin] of candidates) {
    if (value === undefined) continue;
    if (value.trim() === '') {
      return configError(`invalid value for ${describeOrigin(origin)}: expected a file path, got ${showValue(value)}`);
    }
    return { path: resolve(value), via: origin.kind === 'flag' ? `--${CONFIG_FILE_FLAG}` : CONFIG_FILE_ENV };
  }
  return undefined;
}

/**
 * Read and check a JSON config file: an object whose keys are Config keys (camelCase).
 * Values are validated later, with the flag and environment values.
 */
function readConfigFile(path: string, via?: string): Readonly<Record<string, unknown>> {
  const from = via === undefined ? '' : ` (from ${via})`;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return configError(`cannot read config file ${path}${from}: ${fsReason(err)}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    return configError(`config file ${path}${from} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    const got = data === null ? 'null' : Array.isArray(data) ? 'an array' : `a ${typeof data}`;
    return configError(`config file ${path}${from} must hold a JSON object of options, got ${got}`);
  }
  for (const key of Object.keys(data)) {
    if (!FILE_KEYS.has(key)) return configError(`unknown key "${key}" in ${path}${unknownKeyHint(key)}`);
  }
  return data as Record<string, unknown>;
}

function unknownKeyHint(key: string): string {
  // People paste flag or variable names; point them at the file key.
  const named = SPECS.find((s) => s.flag === key || s.env === key);
  const guess = named?.key ?? closest(key, [...FILE_KEYS]);
  if (guess !== undefined) return ` (did you mean "${guess}"? file keys are the camelCase option names)`;
  return ` (known keys: ${[...FILE_KEYS].join(', ')})`;
}

const FS_REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'it is a directory',
};

function fsReason(err: unknown): string {
  const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
  const reason = FS_REASONS[code];
  if (reason !== undefined) return `${reason} (${code})`;
  return err instanceof Error ? err.message : String(err);
}

function showValue(raw: unknown): string {
  const text = JSON.stringify(raw) ?? String(raw);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function configError(message: string): never {
  throw new SkeinError('SKEIN_ERR_CONFIG_INVALID', message.replace(/\s*[\r\n]+\s*/g, ' '));
}
