import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../server/src/config/load.js';
import { DEFAULT_CONFIG, OPTIONS } from '../../server/src/config/schema.js';
import { NGINX_TEMPLATE } from './nginx.js';
import { composeServiceEnv, DEPLOY_DIR } from './tools.js';

/**
 * deploy/compose without a container engine: the file validates against the Compose
 * Specification schema (vendored, test/deploy/schemas/README.md), and its parts agree with each
 * other (nginx template ↔ its environment, Prometheus ↔ the nodes, Grafana ↔ deploy/grafana,
 * the nodes' SKEIN_* environment ↔ the server's own config loader).
 */

const COMPOSE_DIR = join(DEPLOY_DIR, 'compose');
const COMPOSE_FILE = join(COMPOSE_DIR, 'compose.yaml');
// Draft 07, named by an https URL Ajv does not know as its draft-07 meta-schema: drop `$schema`.
const { $schema: _draft, ...SCHEMA } = JSON.parse(readFileSync(new URL('./schemas/compose-spec.json', import.meta.url), 'utf8')) as Record<string, unknown>;

type Obj = Record<string, unknown>;
interface Service {
  image?: string;
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  command?: string[];
  healthcheck?: { test: string[] };
  stop_grace_period?: string;
  networks?: Record<string, { ipv4_address?: string }> | string[];
  depends_on?: Record<string, { condition: string }> | string[];
}

const compose = parse(readFileSync(COMPOSE_FILE, 'utf8'), { merge: true }) as { services: Record<string, Service>; volumes: Obj };
const services = compose.services;
const service = (name: string): Service => {
  const s = services[name];
  if (s === undefined) throw new Error(`no service ${name}`);
  return s;
};

const envOf = composeServiceEnv;

const validator = new Ajv({ allErrors: true, strict: false, validateFormats: false });
const validateCompose = validator.compile(SCHEMA);

function schemaErrors(document: unknown): string[] {
  return validateCompose(document) ? [] : (validateCompose.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
}

function promtoolAvailable(): boolean {
  const available = spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0;
  if (!available && process.env.CI) throw new Error('promtool not found: .ci/run installs prometheus');
  return available;
}

describe('deploy/compose/compose.yaml', () => {
  it('validates against the Compose Specification schema (and the check is not vacuous)', () => {
    expect(schemaErrors(compose)).toEqual([]);
    const broken = structuredClone(compose) as unknown as { services: Record<string, Obj> };
    (broken.services['redis'] as Obj)['restart_policy'] = 'always';
    expect(schemaErrors(broken).join('\n')).toMatch(/additional/);
  });

  it('two Skein nodes with their own data volumes, an environment the server accepts, a stop grace above the shutdown timeout', () => {
    const known = new Set<string>(OPTIONS.map((o) => o.env));
    const volumes = new Set<string>();
    for (const name of ['skein-a', 'skein-b']) {
      const node = service(name);
      const env = envOf(name);
      for (const key of Object.keys(env)) expect(known.has(key), key).toBe(true);
      const config = loadConfig({ env });
      expect(config.nodeId).toBe(name);
      expect(config.host).toBe('0.0.0.0');
      expect(new URL(config.redisUrl).hostname).toBe('redis');
      const data = (node.volumes ?? []).find((v) => v.endsWith(`:${config.dataDir}`));
      expect(data, `${name} mounts a volume at ${config.dataDir}`).toBeDefined();
      const volume = (data as string).split(':')[0] as string;
      expect(compose.volumes).toHaveProperty(volume);
      volumes.add(volume);
      const graceS = Number(/^(\d+)s$/.exec(node.stop_grace_period ?? '')?.[1]);
      expect(graceS * 1000).toBeGreaterThan(config.shutdownTimeoutMs ?? DEFAULT_CONFIG.shutdownTimeoutMs);
      // The proxy Skein trusts for X-Forwarded-For is nginx's fixed address.
      const nginxNet = service('nginx').networks as Record<string, { ipv4_address?: string }>;
      expect(config.trustProxy).toBe(nginxNet['skein']?.ipv4_address);
      expect(new URL(config.otelExporterOtlpEndpoint).hostname).toBe('otel-collector');
    }
    expect(volumes.size).toBe(2);
  });

  it('Redis: AOF with fsync every second, and a healthcheck the nodes wait for', () => {
    const redis = service('redis');
    expect(redis.command?.join(' ')).toContain('--appendonly yes --appendfsync everysec');
    expect(redis.healthcheck?.test.join(' ')).toContain('redis-cli ping');
    expect(service('skein-a').depends_on).toMatchObject({ redis: { condition: 'service_healthy' } });
  });

  it('nginx: the template the smoke test drives, every placeholder set, upstreams are the two nodes, port 8080 published', () => {
    const nginx = service('nginx');
    expect(nginx.volumes).toContain('./nginx/templates:/etc/nginx/templates:ro');
    expect(existsSync(NGINX_TEMPLATE)).toBe(true);
    const template = readFileSync(NGINX_TEMPLATE, 'utf8');
    const placeholders = new Set([...template.matchAll(/\$\{([A-Z0-9_]+)\}/g)].map((m) => m[1]));
    expect([...placeholders].sort()).toEqual(Object.keys(nginx.environment ?? {}).sort());
    expect(template).toMatch(/^\s*hash \$request_uri consistent;/m);
    const port = loadConfig({ env: envOf('skein-a') }).port;
    expect(nginx.environment?.['SKEIN_UPSTREAM_A']).toBe(`skein-a:${port}`);
    expect(nginx.environment?.['SKEIN_UPSTREAM_B']).toBe(`skein-b:${port}`);
    expect(nginx.environment?.['NGINX_PORT']).toBe('8080');
    expect(nginx.ports).toContain('8080:8080');
  });

  it('traces to Jaeger through the Collector; Prometheus scrapes both nodes; Grafana gets deploy/grafana', () => {
    const collector = parse(readFileSync(join(COMPOSE_DIR, 'otel-collector.yaml'), 'utf8')) as Obj;
    const pipelines = (collector['service'] as { pipelines: Record<string, { receivers: string[]; exporters: string[] }> }).pipelines;
    expect(pipelines['traces']).toMatchObject({ receivers: ['otlp'], exporters: ['otlp/jaeger'] });
    expect(pipelines['metrics']?.exporters).toEqual(['prometheus']);
    const exporters = collector['exporters'] as Record<string, { endpoint: string }>;
    expect(exporters['otlp/jaeger']?.endpoint).toBe('jaeger:4317');

    const prometheus = parse(readFileSync(join(COMPOSE_DIR, 'prometheus.yml'), 'utf8')) as { scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] };
    const skeinJob = prometheus.scrape_configs.find((j) => j.job_name === 'skein');
    expect(skeinJob?.static_configs[0]?.targets).toEqual([service('nginx').environment?.['SKEIN_UPSTREAM_A'], service('nginx').environment?.['SKEIN_UPSTREAM_B']]);

    const grafana = service('grafana');
    for (const mount of grafana.volumes ?? []) {
      const source = mount.split(':')[0] as string;
      if (source.startsWith('.')) expect(existsSync(resolve(COMPOSE_DIR, source)), source).toBe(true);
    }
    const datasources = parse(readFileSync(join(DEPLOY_DIR, 'grafana/provisioning/datasources/skein.yaml'), 'utf8')) as { datasources: { url: string }[] };
    for (const ds of datasources.datasources) expect(services, ds.url).toHaveProperty(new URL(ds.url).hostname);
    for (const published of ['8080:8080', '16686:16686', '3000:3000', '9090:9090']) {
      expect(Object.values(services).some((s) => s.ports?.includes(published)), published).toBe(true);
    }
  });

  it.runIf(promtoolAvailable())('promtool accepts prometheus.yml (Debian prometheus, installed by .ci/run)', () => {
    const run = spawnSync('promtool', ['check', 'config', '--syntax-only', join(COMPOSE_DIR, 'prometheus.yml')], { encoding: 'utf8' });
    expect(run.status, `${run.stdout}${run.stderr}`).toBe(0);
  });
});
