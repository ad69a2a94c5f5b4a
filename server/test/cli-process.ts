import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built executable, as users run it: `npx tsc -b` must have run (pnpm test does). */
export const SKEIN_MAIN = join(fileURLToPath(new URL('..', import.meta.url)), 'dist', 'cli', 'main.js');

export interface SkeinRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly bytes: Buffer;
}

/** Run `skein <args>`; only PATH (plus `env`) from the outer environment: a developer's SKEIN_* variables must not leak in. */
export function runSkein(args: readonly string[], env: Record<string, string> = {}): Promise<SkeinRun> {
  const child = spawn(process.execPath, [SKEIN_MAIN, ...args], { env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve) =>
    child.once('close', (status) => {
      const bytes = Buffer.concat(out);
      resolve({ status, stdout: bytes.toString('utf8'), stderr, bytes });
    }),
  );
}
