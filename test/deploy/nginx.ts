import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../helpers/wait.js';

/** The nginx config of the compose stack (a template the nginx image fills in at start). */
export const NGINX_TEMPLATE = fileURLToPath(new URL('../../deploy/compose/nginx/templates/skein.conf.template', import.meta.url));

/** The values the template expects (the environment of the compose `nginx` service). */
export interface NginxValues {
  readonly NGINX_PORT: string;
  readonly NGINX_ACCESS_LOG: string;
  readonly SKEIN_UPSTREAM_A: string;
  readonly SKEIN_UPSTREAM_B: string;
}

/** Debian's nginx binary, or undefined. Under CI a missing nginx fails loudly (.ci/run installs it). */
export function nginxBinary(): string | undefined {
  for (const candidate of ['nginx', '/usr/sbin/nginx']) {
    if (spawnSync(candidate, ['-v'], { stdio: 'ignore' }).status === 0) return candidate;
  }
  if (process.env.CI) throw new Error('nginx not found: the deploy tests need it in CI (apt-get install nginx)');
  return undefined;
}

/**
 * Fill in `${NAME}` for exactly the names given, as the image's envsubst does for the variables
 * that are set; nginx's own `$variables` stay. Throws on a placeholder left unfilled.
 */
export function renderTemplate(text: string, values: Readonly<Record<string, string>>): string {
  const out = text.replace(/\$\{([A-Z0-9_]+)\}/g, (whole, name: string) => values[name] ?? whole);
  const left = /\$\{[A-Z0-9_]+\}/.exec(out);
  if (left !== null) throw new Error(`template placeholder ${left[0]} has no value`);
  return out;
}

/**
 * A self-contained nginx prefix in a temp dir: the main config (pid, logs and temp paths in the
 * prefix, no system paths) including the rendered template. Runs as any user.
 */
export function writeNginxPrefix(values: Omit<NginxValues, 'NGINX_ACCESS_LOG'>): { dir: string; conf: string; accessLog: string; errorLog: string } {
  const dir = mkdtempSync(join(tmpdir(), 'skein-nginx-'));
  mkdirSync(join(dir, 'temp'));
  const accessLog = join(dir, 'access.log');
  const errorLog = join(dir, 'error.log');
  const site = renderTemplate(readFileSync(NGINX_TEMPLATE, 'utf8'), { ...values, NGINX_ACCESS_LOG: accessLog });
  writeFileSync(join(dir, 'skein.conf'), site);
  const temp = (name: string): string => `${name}_temp_path ${join(dir, 'temp', name)};`;
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, [
    'worker_processes 1;',
    `pid ${join(dir, 'nginx.pid')};`,
    `error_log ${errorLog} notice;`,
    'events { worker_connections 4096; }',
    'http {',
    `  ${temp('client_body')} ${temp('proxy')} ${temp('fastcgi')} ${temp('uwsgi')} ${temp('scgi')}`,
    `  include ${join(dir, 'skein.conf')};`,
    '}',
    '',
  ].join('\n'));
  return { dir, conf, accessLog, errorLog };
}

/** `nginx -t` on a prefix: status and output. */
export function nginxTest(bin: string, prefix: { dir: string; conf: string; errorLog: string }): { status: number | null; output: string } {
  const run = spawnSync(bin, ['-t', '-p', prefix.dir, '-e', prefix.errorLog, '-c', prefix.conf], { encoding: 'utf8' });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/** A running nginx (foreground master) on a rendered prefix. */
export class NginxProcess {
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  readonly prefix: ReturnType<typeof writeNginxPrefix>;
  readonly port: number;

  private constructor(child: ChildProcess, prefix: ReturnType<typeof writeNginxPrefix>, port: number) {
    this.#child = child;
    this.prefix = prefix;
    this.port = port;
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  static async start(bin: string, values: Omit<NginxValues, 'NGINX_ACCESS_LOG'>): Promise<NginxProcess> {
    const prefix = writeNginxPrefix(values);
    const child = spawn(bin, ['-p', prefix.dir, '-e', prefix.errorLog, '-c', prefix.conf, '-g', 'daemon off;'], { stdio: 'ignore' });
    const nginx = new NginxProcess(child, prefix, Number(values.NGINX_PORT.split(':').at(-1)));
    await waitFor(() => {
      if (child.exitCode !== null) throw new Error(`nginx exited: ${nginx.errors()}`);
      return existsSync(join(prefix.dir, 'nginx.pid'));
    }, { what: 'nginx started', intervalMs: 20 });
    return nginx;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  errors(): string {
    return existsSync(this.prefix.errorLog) ? readFileSync(this.prefix.errorLog, 'utf8') : '';
  }

  accessLog(): string {
    return existsSync(this.prefix.accessLog) ? readFileSync(this.prefix.accessLog, 'utf8') : '';
  }

  /** SIGQUIT (graceful) would wait for open WebSockets: SIGTERM closes them at once. */
  async stop(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGTERM');
    await this.#exited;
    rmSync(this.prefix.dir, { recursive: true, force: true });
  }
}
