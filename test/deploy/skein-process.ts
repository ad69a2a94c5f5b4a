import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { CLI_MAIN } from '../helpers/cli-server.js';

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/**
 * One Skein node as a container runs it: `node dist/cli/main.js serve`, configured only by its
 * environment (SKEIN_*, OTEL_*; nothing inherited but PATH), on a fixed port so the load
 * balancer's upstream stays valid across kills and restarts with the same data directory.
 */
export class SkeinProcess {
  readonly name: string;
  readonly port: number;
  readonly env: Readonly<Record<string, string>>;
  /** Every stdout line (JSON logs) of every run. */
  readonly lines: string[] = [];
  #child: ChildProcess | undefined;
  #exited: Promise<Exit> = Promise.resolve({ code: null, signal: null });

  constructor(name: string, port: number, env: Readonly<Record<string, string>>) {
    this.name = name;
    this.port = port;
    this.env = env;
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** Start and resolve once it logs `listening` (rejects with its output if it exits first). */
  start(): Promise<void> {
    const child = spawn(process.execPath, [CLI_MAIN, 'serve'], {
      env: { PATH: process.env['PATH'] ?? '', ...this.env, SKEIN_PORT: String(this.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    this.#exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const exited = this.#exited;
    return new Promise((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        this.lines.push(line);
        if (line.includes('"msg":"listening"')) resolve();
      });
      void exited.then((exit) => reject(new Error(`${this.name} exited before listening (${JSON.stringify(exit)}): ${stderr}`)));
    });
  }

  /** Send `signal` and resolve with the exit. */
  async stop(signal: NodeJS.Signals): Promise<Exit> {
    if (this.running) this.#child?.kill(signal);
    return this.#exited;
  }

  /** GET /readyz of this node (not through the load balancer). */
  async readyz(): Promise<{ status: number; connections: number; documents: number }> {
    const res = await fetch(`http://127.0.0.1:${this.port}/readyz`);
    const body = (await res.json()) as { connections?: number; documents?: number };
    return { status: res.status, connections: body.connections ?? 0, documents: body.documents ?? 0 };
  }

  /** Log lines whose `msg` is `msg`. */
  logged(msg: string): Record<string, unknown>[] {
    return this.lines.filter((l) => l.includes(`"msg":"${msg}"`)).map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}
