// The servers under test. Each runs in its own process; `start()` in server.mjs turns a
// target into a command line.
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const BENCH_DIR = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
export const ROOT_DIR = path.dirname(BENCH_DIR);
// SKEIN_BENCH_CLI: another build's `server/dist/cli/main.js` (e.g. a worktree of an older
// commit), to measure before/after with the same bench.
export const SKEIN_CLI = process.env.SKEIN_BENCH_CLI ?? path.join(ROOT_DIR, 'server', 'dist', 'cli', 'main.js');
/** Hocuspocus 4.x: its own package (own node_modules) beside 3.x in the bench package. */
export const HOCUS4_DIR = path.join(BENCH_DIR, 'servers', 'hocuspocus4');

/** Debounced strategy used for Skein's `debounced` target: wait 100 ms, at most 1 s. */
export const SKEIN_DEBOUNCED = { waitMs: 100, maxWaitMs: 1000 };

/**
 * @typedef {object} Target
 * @property {string} id
 * @property {string} label
 * @property {'skein'|'peer'|'relay'} family
 * @property {'yws'|'hocus'|'relay'} protocol
 * @property {boolean} persistent
 * @property {(dataDir: string, port: number, cluster?: {redisPort: number, nodeId: string}) => {args: string[], env?: Record<string,string>}} command  node arguments
 * @property {boolean} [cluster]  a two-node target sharing one Redis (scenario C1): `command` gets `cluster`
 * @property {string|null} unavailable  why it cannot run here, or null
 * @property {{alg: 'HS256', secret: string} | {alg: 'ES256', privateKeyPem: string}} [auth]  a JWT target's signing
 *   key (S8): given to the load generator, which signs the tokens; never written to the results
 */

/**
 * What `skein serve --help` says it supports: LevelDB storage and the flag that sets
 * persistence rules (its name is read from the help text, so the bench follows the CLI).
 */
export function skeinCapabilities() {
  if (!existsSync(SKEIN_CLI)) return { built: false, leveldb: false, rulesFlag: null, jwt: false, jwtPublicKey: false, help: '' };
  let help = '';
  try {
    help = execFileSync(process.execPath, [SKEIN_CLI, 'serve', '--help'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    help = String(/** @type {any} */ (err).stdout ?? '');
  }
  const storageLine = /--storage <[^>]*>[\s\S]*?Accepts ([^\n]*)/.exec(help)?.[1] ?? '';
  const leveldb = /leveldb/i.test(storageLine);
  // A flag whose description or accepted values mention the rule grammar.
  let rulesFlag = null;
  const blocks = help.split(/\n(?=\s{2}--)/);
  for (const block of blocks) {
    const flag = /^\s*(--[a-z0-9-]+)/.exec(block)?.[1];
    if (flag && flag !== '--storage' && /(rule|strateg)/i.test(block) && /(immediate|debounced)/i.test(block)) {
      rulesFlag = flag;
      break;
    }
  }
  if (process.env.SKEIN_BENCH_RULES_FLAG) rulesFlag = process.env.SKEIN_BENCH_RULES_FLAG;
  const jwt = /--auth-jwt-secret\b/.test(help);
  const jwtPublicKey = /--auth-jwt-public-key\b/.test(help);
  return { built: true, leveldb, rulesFlag, jwt, jwtPublicKey, help };
}

/** @returns {Target[]} */
export function allTargets() {
  const caps = skeinCapabilities();
  const skeinMissing = caps.built ? null : `Skein is not built (${SKEIN_CLI} missing): run \`pnpm build\``;
  const levelMissing = skeinMissing ?? (caps.leveldb
    ? (caps.rulesFlag ? null : 'pending: `skein serve --help` lists leveldb storage but no persistence-rules flag yet')
    : 'pending: `skein serve --help` does not offer `--storage leveldb` yet');
  // Every load client connects from 127.0.0.1: lift the per-IP connection bound (S11 holds
  // 10,000 connections; the default bound is 4,096 per IP) and the per-IP upgrade rate (200/s
  // after a burst of 4,096: S11 at full size opens 10,000 at once) when this build has them.
  const perIp = [
    ...(/--max-connections-per-ip\b/.test(caps.help) ? ['--max-connections-per-ip', '0'] : []),
    ...(/--upgrade-rate-per-ip\b/.test(caps.help) ? ['--upgrade-rate-per-ip', '0'] : []),
  ];
  const skeinBase = (port) => [SKEIN_CLI, 'serve', '--host', '127.0.0.1', '--port', String(port), '--log-level', 'warn', ...perIp];
  const skeinLevel = (rule) => (dataDir, port) => ({
    args: [...skeinBase(port), '--storage', 'leveldb', '--data-dir', dataDir, /** @type {string} */ (caps.rulesFlag), `*=${rule}`],
  });
  const node = (file) => path.join(BENCH_DIR, 'servers', file);
  // S8: throwaway keys, new for every orchestrator run. HS256 secret through the environment
  // (not on the command line); the ES256 public key as a PEM file in the run's data directory.
  const jwtMissing = skeinMissing ?? (caps.jwt ? null : 'pending: `skein serve --help` does not offer `--auth-jwt-secret` yet');
  const esMissing = skeinMissing ?? (caps.jwtPublicKey ? null : 'pending: `skein serve --help` does not offer `--auth-jwt-public-key` yet');
  const hsSecret = randomBytes(32).toString('base64url');
  const es = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const esPublicPem = es.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const esPrivatePem = es.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const sqlite3 = sqliteAvailable(BENCH_DIR);
  const sqlite4 = sqliteAvailable(HOCUS4_DIR);
  const redisMissing = redisAvailable();
  // Both Hocuspocus majors run: 3.x from the bench package, 4.x from servers/hocuspocus4.
  const hp3 = `Hocuspocus ${pkgVersion('@hocuspocus/server') ?? '3'}`;
  const hp4 = `Hocuspocus ${pkgVersion('@hocuspocus/server', HOCUS4_DIR) ?? '4'}`;
  const hp4Missing = existsSync(path.join(HOCUS4_DIR, 'node_modules', '@hocuspocus', 'server'))
    ? null : 'unavailable: servers/hocuspocus4 is not installed (`pnpm --dir bench install`)';
  return [
    { id: 'skein-memory', label: 'Skein (memory)', family: 'skein', protocol: 'yws', persistent: false, unavailable: skeinMissing,
      command: (_d, port) => ({ args: [...skeinBase(port), '--storage', 'memory'] }) },
    { id: 'skein-jwt-hs256', label: 'Skein (memory, JWT HS256)', family: 'skein', protocol: 'yws', persistent: false, unavailable: jwtMissing,
      auth: { alg: 'HS256', secret: hsSecret },
      command: (_d, port) => ({ args: [...skeinBase(port), '--storage', 'memory', '--auth', 'jwt'], env: { SKEIN_AUTH_JWT_SECRET: hsSecret } }) },
    { id: 'skein-jwt-es256', label: 'Skein (memory, JWT ES256)', family: 'skein', protocol: 'yws', persistent: false, unavailable: esMissing,
      auth: { alg: 'ES256', privateKeyPem: esPrivatePem },
      command: (dataDir, port) => {
        const pem = path.join(dataDir, 'jwt-es256-public.pem');
        writeFileSync(pem, esPublicPem);
        return { args: [...skeinBase(port), '--storage', 'memory', '--auth', 'jwt', '--auth-jwt-public-key', pem] };
      } },
    { id: 'skein-immediate', label: 'Skein (LevelDB immediate)', family: 'skein', protocol: 'yws', persistent: true, unavailable: levelMissing,
      command: skeinLevel('immediate') },
    { id: 'skein-debounced', label: 'Skein (LevelDB debounced)', family: 'skein', protocol: 'yws', persistent: true, unavailable: levelMissing,
      command: skeinLevel(`debounced:${SKEIN_DEBOUNCED.waitMs}:${SKEIN_DEBOUNCED.maxWaitMs}`) },
    { id: 'hocuspocus-memory', label: `${hp3} (memory)`, family: 'peer', protocol: 'hocus', persistent: false, unavailable: null,
      command: (_d, port) => ({ args: [node('hocuspocus.mjs'), '--port', String(port)] }) },
    { id: 'hocuspocus-sqlite', label: `${hp3} (SQLite)`, family: 'peer', protocol: 'hocus', persistent: true, unavailable: sqlite3,
      command: (dataDir, port) => ({ args: [node('hocuspocus.mjs'), '--port', String(port), '--sqlite', path.join(dataDir, 'hocuspocus.sqlite')] }) },
    { id: 'hocuspocus4-memory', label: `${hp4} (memory)`, family: 'peer', protocol: 'hocus', persistent: false, unavailable: hp4Missing,
      command: (_d, port) => ({ args: [node('hocuspocus4/server.mjs'), '--port', String(port)] }) },
    { id: 'hocuspocus4-sqlite', label: `${hp4} (SQLite)`, family: 'peer', protocol: 'hocus', persistent: true, unavailable: hp4Missing ?? sqlite4,
      command: (dataDir, port) => ({ args: [node('hocuspocus4/server.mjs'), '--port', String(port), '--sqlite', path.join(dataDir, 'hocuspocus.sqlite')] }) },
    { id: 'y-websocket-memory', label: 'y-websocket (memory)', family: 'peer', protocol: 'yws', persistent: false, unavailable: null,
      command: (_d, port) => ({ args: [node('y-websocket.mjs'), '--port', String(port)] }) },
    { id: 'y-websocket-leveldb', label: 'y-websocket (y-leveldb)', family: 'peer', protocol: 'yws', persistent: true, unavailable: null,
      command: (dataDir, port) => ({ args: [node('y-websocket.mjs'), '--port', String(port)], env: { YPERSISTENCE: dataDir } }) },
    { id: 'skein-redis', label: 'Skein (memory, 2 nodes + Redis)', family: 'skein', protocol: 'yws', persistent: false, cluster: true, unavailable: skeinMissing ?? redisMissing,
      command: (_d, port, c) => ({ args: [...skeinBase(port), '--storage', 'memory', '--redis-url', `redis://127.0.0.1:${c?.redisPort}`, '--node-id', c?.nodeId ?? 'a'] }) },
    { id: 'hocuspocus-redis', label: `${hp3} (memory, 2 nodes + extension-redis)`, family: 'peer', protocol: 'hocus', persistent: false, cluster: true, unavailable: redisMissing,
      command: (_d, port, c) => ({ args: [node('hocuspocus.mjs'), '--port', String(port), '--redis-port', String(c?.redisPort), '--node-id', c?.nodeId ?? 'a'] }) },
    { id: 'hocuspocus4-redis', label: `${hp4} (memory, 2 nodes + extension-redis)`, family: 'peer', protocol: 'hocus', persistent: false, cluster: true, unavailable: hp4Missing ?? redisMissing,
      command: (_d, port, c) => ({ args: [node('hocuspocus4/server.mjs'), '--port', String(port), '--redis-port', String(c?.redisPort), '--node-id', c?.nodeId ?? 'a'] }) },
    { id: 'raw-relay', label: 'raw relay (ws)', family: 'relay', protocol: 'relay', persistent: false, unavailable: null,
      command: (_d, port) => ({ args: [node('relay.mjs'), '--port', String(port)] }) },
  ];
}

/** null when `redis-server` and `redis-cli` run (cluster targets), else why not. */
function redisAvailable() {
  const ok = ['redis-server', 'redis-cli'].every((bin) => {
    try {
      execFileSync(bin, ['--version'], { stdio: 'ignore', timeout: 5000 });
      return true;
    } catch {
      return false;
    }
  });
  return ok ? null : 'unavailable: redis-server / redis-cli not found (apt-get install redis-server)';
}

/**
 * null when the SQLite extension of the package in `dir` loads its native addon (3.x:
 * `sqlite3`, 4.x: `better-sqlite3`) and opens a database, else the exact error.
 * @param {string} dir
 */
function sqliteAvailable(dir) {
  try {
    execFileSync(process.execPath, ['--input-type=module', '-e', "import('@hocuspocus/extension-sqlite').then(async (m) => { const s = new m.SQLite({ database: ':memory:' }); await s.onConfigure(); })"], {
      cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 20_000,
    });
    return null;
  } catch (err) {
    const e = /** @type {any} */ (err);
    const text = `${e.stderr ?? ''}`.split('\n').find((l) => /Error/.test(l)) ?? e.message;
    return `unavailable: the native SQLite addon does not load: ${text.trim()}`;
  }
}

/** The version of package `name` installed in `from`/node_modules, or null. */
function pkgVersion(name, from = BENCH_DIR) {
  try {
    return JSON.parse(readFileSync(path.join(from, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

/** Versions of everything measured, for the report. */
export function versions() {
  const pkg = pkgVersion;
  // A dependency of a dependency: pnpm links it beside the parent's real directory
  // (node_modules/.pnpm/<parent@version>/node_modules/<name>).
  const dep = (parent, name, from = BENCH_DIR) => {
    try {
      const parentDir = realpathSync(path.join(from, 'node_modules', parent));
      const modules = parentDir.slice(0, parentDir.length - parent.length);
      return JSON.parse(readFileSync(path.join(modules, name, 'package.json'), 'utf8')).version;
    } catch {
      return null;
    }
  };
  let commit = null;
  let dirty = false;
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT_DIR, encoding: 'utf8' }).trim();
    dirty = execFileSync('git', ['status', '--porcelain'], { cwd: ROOT_DIR, encoding: 'utf8' }).trim() !== '';
  } catch {
    // not a git checkout
  }
  return {
    skein: JSON.parse(readFileSync(path.join(ROOT_DIR, 'server', 'package.json'), 'utf8')).version,
    skeinCommit: commit === null ? null : `${commit}${dirty ? ' (with uncommitted changes)' : ''}`,
    skeinBuild: buildFingerprint(),
    '@hocuspocus/server': pkg('@hocuspocus/server'),
    '@hocuspocus/extension-sqlite': pkg('@hocuspocus/extension-sqlite'),
    '@hocuspocus/extension-redis': pkg('@hocuspocus/extension-redis'),
    '@hocuspocus/server (4.x)': pkg('@hocuspocus/server', HOCUS4_DIR),
    '@hocuspocus/common (of 4.x)': dep('@hocuspocus/server', '@hocuspocus/common', HOCUS4_DIR),
    '@hocuspocus/extension-sqlite (4.x)': pkg('@hocuspocus/extension-sqlite', HOCUS4_DIR),
    '@hocuspocus/extension-redis (4.x)': pkg('@hocuspocus/extension-redis', HOCUS4_DIR),
    'better-sqlite3 (of extension-sqlite 4.x)': dep('@hocuspocus/extension-sqlite', 'better-sqlite3', HOCUS4_DIR),
    'ioredis (of extension-redis 4.x)': dep('@hocuspocus/extension-redis', 'ioredis', HOCUS4_DIR),
    'crossws (of server 4.x)': dep('@hocuspocus/server', 'crossws', HOCUS4_DIR),
    ioredis: dep('@hocuspocus/extension-redis', 'ioredis'),
    'redis-server': redisVersion(),
    sqlite3: dep('@hocuspocus/extension-sqlite', 'sqlite3'),
    'y-websocket (reference server)': pkg('y-websocket-legacy'),
    'y-leveldb': pkg('y-leveldb'),
    yjs: pkg('yjs'),
    ws: pkg('ws'),
    'hdr-histogram-js': pkg('hdr-histogram-js'),
    jose: pkg('jose'),
    node: process.version,
  };
}

/** `redis-server --version`'s version, or null. */
function redisVersion() {
  try {
    return /v=([\d.]+)/.exec(execFileSync('redis-server', ['--version'], { encoding: 'utf8', timeout: 5000 }))?.[1] ?? null;
  } catch {
    return null;
  }
}

/** Hash and newest mtime of the .js files under server/dist: which build of Skein a run measured. */
function buildFingerprint() {
  const dist = path.join(ROOT_DIR, 'server', 'dist');
  if (!existsSync(dist)) return null;
  const h = createHash('sha1');
  let newest = 0;
  const walk = (dir) => {
    for (const name of readdirSync(dir).sort()) {
      const file = path.join(dir, name);
      const st = statSync(file);
      if (st.isDirectory()) walk(file);
      else if (name.endsWith('.js')) {
        h.update(name);
        h.update(readFileSync(file));
        newest = Math.max(newest, st.mtimeMs);
      }
    }
  };
  walk(dist);
  return `server/dist sha1 ${h.digest('hex').slice(0, 12)}, built ${new Date(newest).toISOString()}`;
}
