import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CLI_MAIN, startCliServer, stopCliServer, type CliServer } from '../helpers/cli-server.js';

const run = promisify(execFile);
const SECRET = 'a-cli-secret-that-is-long-enough-0123456789';

async function token(args: readonly string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI_MAIN, 'token', ...args], { env: { PATH: process.env.PATH ?? '', ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

function upgradeStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => {
      ws.terminate();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('error', (err) => {
      if (!err.message.startsWith('Unexpected server response')) reject(err);
    });
  });
}

describe('skein token', () => {
  let server: CliServer | undefined;
  afterEach(async () => {
    if (server !== undefined) await stopCliServer(server);
    server = undefined;
  });

  it('signs a token that skein serve --auth jwt accepts for the granted documents only', async () => {
    const minted = await token(['--sub', 'ada', '--docs', 'boards/*=write,public/*=read', '--ttl', '600'], { SKEIN_AUTH_JWT_SECRET: SECRET });
    expect(minted.code).toBe(0);
    const jwt = minted.stdout.trim();
    expect(jwt.split('.')).toHaveLength(3);
    expect(minted.stderr).toContain('"ada"');
    expect(minted.stderr).not.toContain(SECRET);
    server = await startCliServer(['--port', '0', '--storage', 'memory', '--auth', 'jwt', '--auth-jwt-secret', SECRET]);
    expect(await upgradeStatus(`${server.url}/boards/1?token=${jwt}`)).toBe(101);
    expect(await upgradeStatus(`${server.url}/public/x?token=${jwt}`)).toBe(101);
    expect(await upgradeStatus(`${server.url}/private/x?token=${jwt}`)).toBe(403);
    expect(await upgradeStatus(`${server.url}/boards/1`)).toBe(401);
    expect(server.lines.join('\n')).not.toContain(SECRET);
  });

  it('fails with one coded line: no secret (exit 2), bad grants or ttl (exit 2)', async () => {
    const cases: [string[], Record<string, string>, string][] = [
      [['--sub', 'ada', '--docs', 'a=read'], {}, 'SKEIN_ERR_CONFIG_INVALID'],
      [['--sub', 'ada', '--docs', 'a=admin'], { SKEIN_AUTH_JWT_SECRET: SECRET }, 'SKEIN_ERR_USAGE'],
      [['--docs', 'a=read'], { SKEIN_AUTH_JWT_SECRET: SECRET }, 'SKEIN_ERR_USAGE'],
      [['--sub', 'ada', '--docs', 'a=read', '--ttl', '0'], { SKEIN_AUTH_JWT_SECRET: SECRET }, 'SKEIN_ERR_USAGE'],
      [['--sub', 'ada', '--docs', 'a=read'], { SKEIN_AUTH_JWT_SECRET: 'short' }, 'SKEIN_ERR_CONFIG_INVALID'],
    ];
    for (const [args, env, code] of cases) {
      const result = await token(args, env);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(new RegExp(`^skein: ${code}: `));
      expect(result.stderr).not.toContain('short');
    }
  });
});
