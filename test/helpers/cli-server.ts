import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

export const CLI_MAIN = fileURLToPath(new URL('../../server/dist/cli/main.js', import.meta.url));

/** A `skein serve` child process (the real CLI, built), listening. */
export interface CliServer {
  readonly child: ChildProcess;
  readonly port: number;
  readonly url: string;
  /** Every stdout line (JSON logs) so far. */
  readonly lines: string[];
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Run `node server/dist/cli/main.js serve <args>` and resolve once it logs `listening`
 * (rejects with its output when it exits first).
 */
export function startCliServer(args: readonly string[], options: { nodeArgs?: readonly string[]; env?: NodeJS.ProcessEnv } = {}): Promise<CliServer> {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), CLI_MAIN, 'serve', '--host', '127.0.0.1', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.env === undefined ? {} : { env: options.env }),
  });
  const lines: string[] = [];
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return new Promise<CliServer>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    rl.on('line', (line) => {
      lines.push(line);
      let entry: { msg?: unknown; port?: unknown };
      try {
        entry = JSON.parse(line) as { msg?: unknown; port?: unknown };
      } catch {
        return;
      }
      if (entry.msg === 'listening' && typeof entry.port === 'number') {
        const port = entry.port;
        resolve({ child, port, url: `ws://127.0.0.1:${port}`, lines, exited });
      }
    });
    void exited.then(({ code, signal }) =>
      reject(new Error(`skein serve exited (code ${code}, signal ${signal}) before listening:\n${stderr}${lines.join('\n')}`)),
    );
  });
}

/** Stop a CLI server: SIGTERM (graceful) or SIGKILL, and wait for the exit. */
export async function stopCliServer(server: CliServer, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill(signal);
  await server.exited;
}
