import { describeSchema } from '../config/describe.js';
import { CONFIG_FILE_ENV, CONFIG_FILE_FLAG, loadConfig, type TextValues } from '../config/load.js';
import { OPTIONS, type Config, type OptionSpec } from '../config/schema.js';
import type { CliIo, CommandArgs, OptionsConfig } from './command.js';

const SPECS: readonly OptionSpec[] = OPTIONS;
const REPEATABLE: ReadonlySet<string> = new Set(SPECS.filter((s) => s.repeatable === true).map((s) => s.flag));

/**
 * parseArgs options for every config option plus `--config <file>`. Any command that needs
 * a `Config` (serve, and later inspect/verify/compact/export/import) takes these flags.
 */
export function configFlagOptions(): OptionsConfig {
  const options: OptionsConfig = { [CONFIG_FILE_FLAG]: { type: 'string' } };
  for (const spec of SPECS) {
    // A boolean option is a bare switch on the command line (`--flag`); env/file take true/false.
    options[spec.flag] = describeSchema(spec.schema).kind === 'boolean'
      ? { type: 'boolean' }
      : spec.repeatable === true ? { type: 'string', multiple: true } : { type: 'string' };
  }
  return options;
}

/** The `Config` from parsed flags and the environment (precedence: see `loadConfig`). */
export function configFromArgs(args: CommandArgs, io: CliIo): Config {
  return loadConfig({ argv: toTextValues(args.values), env: io.env });
}

/**
 * Parsed flag values as text, keyed by flag (a repeated flag: the last one wins, except for a
 * `repeatable` option, whose values are joined by spaces: its list syntax).
 */
export function toTextValues(values: CommandArgs['values']): TextValues {
  const text: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(values)) {
    const last = typeof value === 'object' ? (REPEATABLE.has(name) ? value.join(' ') : value.at(-1)) : value;
    if (last !== undefined) text[name] = String(last);
  }
  return text;
}

/** The options block of `--help`: every option with its flag, env name, file key and default. */
export function configOptionsHelp(): string {
  const lines = [
    'Options (a flag beats its environment variable, which beats the config file, which beats the default):',
    `  --${CONFIG_FILE_FLAG} <file>`,
    '      JSON config file whose keys are the option names in camelCase (see "file key" below).',
    `      Env ${CONFIG_FILE_ENV}. No default: without it, no file is read.`,
  ];
  for (const spec of SPECS) {
    const shape = describeSchema(spec.schema);
    const placeholder = shape.kind === 'boolean' ? '' : ` ${shape.placeholder}`;
    const accepts = shape.expected === undefined ? '' : `Accepts ${shape.expected}. `;
    lines.push(
      `  --${spec.flag}${placeholder}`,
      `      ${spec.description}`,
      `      ${accepts}Env ${spec.env}, file key "${spec.key}", default ${formatDefault(spec)}.`,
    );
  }
  lines.push('  -h, --help', '      Show this help.');
  return lines.join('\n');
}

/** How a default is shown in help and docs: `127.0.0.1`, `1234`, `"a b"`, `hidden`. */
export function formatDefault(spec: OptionSpec): string {
  if (spec.sensitive === true) return 'hidden';
  const value = spec.default;
  if (typeof value === 'string') return /^[\w./:@-]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
}
