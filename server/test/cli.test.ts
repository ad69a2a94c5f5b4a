import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDefault } from '../src/cli/config-flags.js';
import { OPTIONS } from '../src/config/schema.js';

// These tests run the built executable, as users do: `tsc -b` must have run (pnpm test does).
const SERVER = fileURLToPath(new URL('..', import.meta.url));
const MAIN = join(SERVER, 'dist', 'cli', 'main.js');
const VERSION = (JSON.parse(readFileSync(join(SERVER, 'package.json'), 'utf8')) as { version: string }).version;

interface Exit {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
}
interface Run extends Exit {
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Only PATH from the outer environment: a developer's SKEIN_* variables must not leak in.
 * Each process runs in a fresh temp dir, so the default `./data` store is its own.
 */
const workDirs: string[] = [];
afterAll(() => {
  for (const dir of workDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function skeinProcess(args: readonly string[], env: Record<string, string> = {}): ChildProcess {
  const cwd = mkdtempSync(join(tmpdir(), 'skein-cli-'));
  workDirs.push(cwd);
  return spawn(process.execPath, [MAIN, ...args], {
    env: { PATH: process.env['PATH'] ?? '', ...env },
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function exited(child: ChildProcess): Promise<Exit> {
  return new Promise((resolve) => child.once('close', (status, signal) => resolve({ status, signal })));
}

async function skein(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  const child = skeinProcess(args, env);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exit = await exited(child);
  return { ...exit, stdout, stderr };
}

interface Serving {
  readonly child: ChildProcess;
  readonly port: number;
  /** Parsed JSON log lines from stdout, appended as they arrive. */
  readonly logs: Array<Record<string, unknown>>;
  readonly exit: Promise<Exit>;
  stderr(): string;
}

/** Start `skein serve` and resolve once its `listening` log line is on stdout. */
function serve(args: readonly string[], env: Record<string, string> = {}): Promise<Serving> {
  const child = skeinProcess(['serve', ...args], env);
  const exit = exited(child);
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    void exit.then((e) => reject(new Error(`skein serve exited (${String(e.status)}) before listening: ${stderr}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      logs.push(entry);
      if (entry['msg'] === 'listening' && typeof entry['port'] === 'number') {
        resolve({ child, port: entry['port'], logs, exit, stderr: () => stderr });
      }
    });
  });
}

const lines = (text: string): string[] => text.split('\n').filter((line) => line !== '');

beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build first (npx tsc -b server)`);
  // A stale build would test old code: every source of the CLI and config must be older than its output.
  for (const folder of ['cli', 'config']) {
    for (const file of readdirSync(join(SERVER, 'src', folder)).filter((f) => f.endsWith('.ts'))) {
      const built = join(SERVER, 'dist', folder, file.replace(/\.ts$/, '.js'));
      const source = join(SERVER, 'src', folder, file);
      if (!existsSync(built) || statSync(built).mtimeMs < statSync(source).mtimeMs) {
        throw new Error(`${built} is older than ${source}: build first (npx tsc -b server)`);
      }
    }
  }
});

describe('skein help and version', () => {
  function expectEveryOption(text: string): void {
    expect(text).toContain('--config');
    expect(text).toContain('SKEIN_CONFIG');
    for (const option of OPTIONS) {
      expect(text).toContain(`--${option.flag}`);
      expect(text).toContain(option.env);
      expect(text).toContain(`default ${formatDefault(option)}`);
      // A list default (`--webhook-url`: none) shows as its items.
      const value: unknown = option.default;
      expect(text).toContain(Array.isArray(value) ? value.join(' ') : String(value as string | number | boolean));
    }
  }

  it('--help and -h list the commands and every serve option', async () => {
    for (const flag of ['--help', '-h']) {
      const run = await skein([flag]);
      expect(run.status, run.stderr).toBe(0);
      expect(run.stderr).toBe('');
      expect(run.stdout).toMatch(/^ {2}serve /m);
      expectEveryOption(run.stdout);
    }
  });

  it('no arguments prints the same help and exits 0', async () => {
    const [bare, help] = await Promise.all([skein([]), skein(['--help'])]);
    expect(bare.status, bare.stderr).toBe(0);
    expect(bare.stdout).toBe(help.stdout);
  });

  it('serve --help, serve -h and help serve list every option', async () => {
    const runs = await Promise.all([skein(['serve', '--help']), skein(['serve', '-h']), skein(['help', 'serve'])]);
    for (const run of runs) {
      expect(run.status, run.stderr).toBe(0);
      expect(run.stdout).toContain('Usage: skein serve');
      expectEveryOption(run.stdout);
    }
    expect(runs[1]?.stdout).toBe(runs[0]?.stdout);
    expect(runs[2]?.stdout).toBe(runs[0]?.stdout);
  });

  it('--help wins over invalid option values (nothing is validated)', async () => {
    const run = await skein(['serve', '--port', 'abc', '--help']);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('Usage: skein serve');
  });

  it('--version prints the version of server/package.json', async () => {
    const run = await skein(['--version']);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe(`${VERSION}\n`);
  });
});

describe('skein usage and config errors: one stderr line, exit status 2', () => {
  async function expectFailure(args: readonly string[], code: string, names: string, env: Record<string, string> = {}) {
    const run = await skein(args, env);
    expect(run.status, run.stderr).toBe(2);
    expect(run.stdout).toBe('');
    expect(lines(run.stderr)).toHaveLength(1);
    expect(run.stderr).toMatch(new RegExp(`^skein: ${code}: `));
    expect(run.stderr).toContain(names);
    return run.stderr;
  }

  it('serve --port abc', async () => {
    await expectFailure(['serve', '--port', 'abc'], 'SKEIN_ERR_CONFIG_INVALID', '--port');
  });

  it('SKEIN_PORT=abc', async () => {
    await expectFailure(['serve'], 'SKEIN_ERR_CONFIG_INVALID', 'SKEIN_PORT', { SKEIN_PORT: 'abc' });
  });

  it('an invalid value in the SKEIN_CONFIG file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'skein-cli-'));
    try {
      const file = join(dir, 'skein.json');
      writeFileSync(file, JSON.stringify({ logLevel: 'loud' }));
      await expectFailure(['serve'], 'SKEIN_ERR_CONFIG_INVALID', `"logLevel" in ${file}`, { SKEIN_CONFIG: file });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an unknown command, with a suggestion', async () => {
    expect(await expectFailure(['srve'], 'SKEIN_ERR_USAGE', '"srve"')).toContain('"serve"');
    await expectFailure(['help', 'nope'], 'SKEIN_ERR_USAGE', '"nope"');
  });

  it('an unknown flag, with a suggestion', async () => {
    expect(await expectFailure(['serve', '--prot', '1'], 'SKEIN_ERR_USAGE', '--prot')).toContain('--port');
    await expectFailure(['--bogus'], 'SKEIN_ERR_USAGE', '--bogus');
    expect(await expectFailure(['--port', '1', 'serve'], 'SKEIN_ERR_USAGE', '--port')).toContain('skein serve');
  });

  it('a flag without its value, and a stray argument', async () => {
    await expectFailure(['serve', '--port'], 'SKEIN_ERR_USAGE', '--port');
    await expectFailure(['serve', 'extra'], 'SKEIN_ERR_USAGE', '"extra"');
  });
});

describe('skein serve', () => {
  const holders: Array<{ close(): unknown }> = [];
  afterAll(() => holders.forEach((h) => h.close()));

  it('listens on port 0, and exits 0 after SIGTERM', async () => {
    const server = await serve(['--port', '0', '--host', '127.0.0.1']);
    expect(server.port).toBeGreaterThan(0);
    const socket = connect(server.port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    socket.destroy();
    server.child.kill('SIGTERM');
    expect(await server.exit).toEqual({ status: 0, signal: null });
    expect(server.stderr()).toBe('');
    expect(server.logs.at(-1)).toMatchObject({ msg: 'exiting', exitStatus: 0 });
  });

  it('takes its settings from the environment, and exits 0 after SIGINT', async () => {
    const server = await serve([], { SKEIN_PORT: '0', SKEIN_LOG_LEVEL: 'info' });
    server.child.kill('SIGINT');
    expect(await server.exit).toEqual({ status: 0, signal: null });
    expect(server.logs.some((entry) => entry['signal'] === 'SIGINT')).toBe(true);
  });

  it('exits 1 with SKEIN_ERR_LISTEN_FAILED when the port is taken', async () => {
    const holder = createServer();
    holders.push(holder);
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const { port } = holder.address() as AddressInfo;
    const run = await skein(['serve', '--port', String(port)]);
    expect(run.status, run.stderr).toBe(1);
    expect(lines(run.stderr)).toHaveLength(1);
    expect(run.stderr).toMatch(/^skein: SKEIN_ERR_LISTEN_FAILED: /);
    expect(run.stderr).toContain(String(port));
    const logged = lines(run.stdout).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(logged.some((entry) => entry['code'] === 'SKEIN_ERR_LISTEN_FAILED')).toBe(true);
  });
});
