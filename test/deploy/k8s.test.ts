import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/src/config/load.js';
import { DEFAULT_CONFIG, OPTIONS } from '../../server/src/config/schema.js';
import { kubeSchemaErrors, kubectlBinary, renderOverlay, type KubeObject } from './tools.js';

/**
 * deploy/k8s without a cluster: `kubectl kustomize` renders both overlays, every object
 * validates against the Kubernetes schemas, and the manifests keep the contract of
 * docs/deploy.md (probes, disks, security context, grace period, affinity, scrape annotations).
 */

const kubectl = kubectlBinary();

/** Options of the HTTP API issue, read by the server once it lands; unknown SKEIN_* variables are ignored until then. */
const KNOWN_ENV = new Set<string>(OPTIONS.map((o) => o.env));

type Obj = Record<string, unknown>;
const at = (value: unknown, ...path: (string | number)[]): unknown =>
  path.reduce<unknown>((v, key) => (v !== null && typeof v === 'object' ? (v as Obj)[key as string] : undefined), value);

function only(objects: readonly KubeObject[], kind: string, name?: string): KubeObject {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  expect(found.map((o) => o.metadata.name), `${kind} ${name ?? ''}`).toHaveLength(1);
  return found[0] as KubeObject;
}

/** The environment a node gets: the ConfigMap and the (decoded) Secret its StatefulSet refers to. */
function nodeEnv(objects: readonly KubeObject[], container: Obj): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of (container['envFrom'] as Obj[] | undefined) ?? []) {
    const cm = at(from, 'configMapRef', 'name');
    const secret = at(from, 'secretRef', 'name');
    if (typeof cm === 'string') Object.assign(env, at(only(objects, 'ConfigMap', cm), 'data'));
    if (typeof secret === 'string') {
      const data = at(only(objects, 'Secret', secret), 'data') as Record<string, string>;
      for (const [k, v] of Object.entries(data)) env[k] = Buffer.from(v, 'base64').toString('utf8');
    }
  }
  return env;
}

describe.runIf(kubectl !== undefined)('deploy/k8s', () => {
  const rendered = { dev: [] as KubeObject[], prod: [] as KubeObject[] };

  for (const overlay of ['dev', 'prod'] as const) {
    describe(`overlays/${overlay}`, () => {
      it('renders with kubectl kustomize, and every object validates against the Kubernetes schemas', async () => {
        const objects = renderOverlay(kubectl as string, overlay);
        rendered[overlay] = objects;
        const kinds = objects.map((o) => o.kind).sort();
        expect(kinds).toEqual(expect.arrayContaining(['ConfigMap', 'Ingress', 'PodDisruptionBudget', 'Secret', 'Service', 'Service', 'StatefulSet']));
        const errors = (await Promise.all(objects.map(kubeSchemaErrors))).filter((e) => e !== undefined);
        expect(errors).toEqual([]);
        const namespace = overlay === 'dev' ? 'skein-dev' : 'skein';
        for (const o of objects.filter((x) => x.kind !== 'Namespace')) expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe(namespace);
      });

      it('the StatefulSet: a disk per node, probes on /healthz and /readyz, locked-down container, grace ≥ the shutdown timeout', () => {
        const objects = rendered[overlay];
        const sts = only(objects, 'StatefulSet', 'skein');
        const pod = at(sts, 'spec', 'template', 'spec') as Obj;
        const container = (pod['containers'] as Obj[])[0] as Obj;
        expect(at(sts, 'spec', 'replicas')).toBe(overlay === 'dev' ? 2 : 3);
        // A PVC per node, mounted at the image's data dir.
        expect(at(sts, 'spec', 'volumeClaimTemplates', 0, 'metadata', 'name')).toBe('data');
        expect(at(sts, 'spec', 'volumeClaimTemplates', 0, 'spec', 'accessModes')).toEqual(['ReadWriteOnce']);
        const env = nodeEnv(objects, container);
        expect((container['volumeMounts'] as Obj[]).find((m) => m['name'] === 'data')?.['mountPath']).toBe(env['SKEIN_DATA_DIR']);
        // Headless governing Service.
        expect(at(only(objects, 'Service', at(sts, 'spec', 'serviceName') as string), 'spec', 'clusterIP')).toBe('None');
        // Probes on the server's routes and port.
        const port = Number(env['SKEIN_PORT']);
        expect(at(container, 'ports', 0, 'containerPort')).toBe(port);
        expect(at(container, 'livenessProbe', 'httpGet', 'path')).toBe('/healthz');
        expect(at(container, 'readinessProbe', 'httpGet', 'path')).toBe('/readyz');
        // Security context.
        expect(at(pod, 'securityContext', 'runAsNonRoot')).toBe(true);
        expect(at(container, 'securityContext')).toMatchObject({
          allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] },
        });
        expect(at(pod, 'automountServiceAccountToken')).toBe(false);
        // Requests and limits.
        for (const kind of ['requests', 'limits']) for (const r of ['cpu', 'memory']) expect(at(container, 'resources', kind, r), `${kind}.${r}`).toBeDefined();
        // Grace period ≥ preStop pause + the server's own shutdown timeout.
        const shutdownMs = Number(env['SKEIN_SHUTDOWN_TIMEOUT_MS'] ?? DEFAULT_CONFIG.shutdownTimeoutMs);
        const preStop = at(container, 'lifecycle', 'preStop', 'exec', 'command') as string[] | undefined;
        const pauseMs = preStop?.[0] === 'sleep' ? Number(preStop[1]) * 1000 : 0;
        expect(Number(pod['terminationGracePeriodSeconds']) * 1000).toBeGreaterThanOrEqual(pauseMs + shutdownMs);
        // Spread over hosts and zones; scraped without a ServiceMonitor.
        const spread = (pod['topologySpreadConstraints'] as Obj[]).map((c) => c['topologyKey']);
        expect(spread).toEqual(expect.arrayContaining(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']));
        const annotations = at(sts, 'spec', 'template', 'metadata', 'annotations') as Record<string, string>;
        expect(annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(port), 'prometheus.io/path': '/metrics' });
        // Node ids from the pod name.
        expect((container['env'] as Obj[]).find((e) => e['name'] === 'SKEIN_NODE_ID')).toMatchObject({ valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } });
      });

      it('the ConfigMap and Secret: only real options, and the server accepts them', () => {
        const objects = rendered[overlay];
        const container = at(only(objects, 'StatefulSet', 'skein'), 'spec', 'template', 'spec', 'containers', 0) as Obj;
        const env = nodeEnv(objects, container);
        for (const name of Object.keys(env)) expect(KNOWN_ENV.has(name), name).toBe(true);
        const config = loadConfig({ env });
        // The secrets are options the server reads (admin routes, webhook signing).
        expect(config.adminToken.length).toBeGreaterThanOrEqual(16);
        expect(config.webhookSecret.startsWith('whsec_')).toBe(true);
        expect(config.auth).toBe('jwt');
        expect(config.authJwtSecret.length).toBeGreaterThanOrEqual(32);
        expect(config.host).toBe('0.0.0.0');
        expect(config.trustProxy).not.toBe('');
        // Secrets only in the Secret.
        const cm = at(only(objects, 'ConfigMap'), 'data') as Record<string, string>;
        for (const secret of ['SKEIN_AUTH_JWT_SECRET', 'SKEIN_ADMIN_TOKEN', 'SKEIN_WEBHOOK_SECRET']) {
          expect(cm, secret).not.toHaveProperty(secret);
          expect(env[secret], secret).toBeTruthy();
        }
        if (overlay === 'dev') {
          // The dev Redis: one, with AOF every second, named by the nodes' Redis URL.
          const redis = only(objects, 'Deployment', 'skein-redis');
          expect(at(redis, 'spec', 'replicas')).toBe(1);
          expect((at(redis, 'spec', 'template', 'spec', 'containers', 0, 'args') as string[]).join(' ')).toContain('--appendfsync everysec');
          expect(new URL(config.redisUrl).hostname).toBe(only(objects, 'Service', 'skein-redis').metadata.name);
        } else {
          // Prod: Redis is external (its URL, with a password, is a secret); no Redis in the cluster.
          expect(objects.filter((o) => o.kind === 'Deployment')).toEqual([]);
          expect(cm).not.toHaveProperty('SKEIN_REDIS_URL');
          expect(config.redisUrl).toMatch(/^rediss:\/\//);
          expect(config.clusterAck).toBe('cluster');
        }
      });

      it('the Ingress: WebSocket timeouts, document affinity by URI, failover; the PDB covers the nodes', () => {
        const objects = rendered[overlay];
        const ingress = only(objects, 'Ingress', 'skein');
        const a = ingress.metadata.annotations ?? {};
        expect(a['nginx.ingress.kubernetes.io/upstream-hash-by']).toBe('$request_uri');
        expect(Number(a['nginx.ingress.kubernetes.io/proxy-read-timeout'])).toBeGreaterThanOrEqual(3600);
        expect(Number(a['nginx.ingress.kubernetes.io/proxy-send-timeout'])).toBeGreaterThanOrEqual(3600);
        expect(a['nginx.ingress.kubernetes.io/proxy-next-upstream']).toContain('error');
        const backend = at(ingress, 'spec', 'rules', 0, 'http', 'paths', 0, 'backend', 'service', 'name') as string;
        const service = only(objects, 'Service', backend);
        const sts = only(objects, 'StatefulSet', 'skein');
        const podLabels = at(sts, 'spec', 'template', 'metadata', 'labels') as Record<string, string>;
        expect(podLabels).toMatchObject(at(service, 'spec', 'selector') as Record<string, string>);
        if (overlay === 'prod') expect(at(ingress, 'spec', 'tls', 0, 'secretName')).toBeTruthy();
        const pdb = only(objects, 'PodDisruptionBudget', 'skein');
        expect(podLabels).toMatchObject(at(pdb, 'spec', 'selector', 'matchLabels') as Record<string, string>);
        expect(at(pdb, 'spec', 'maxUnavailable')).toBe(1);
      });
    });
  }

  it('the schema check is not vacuous: a wrong type, a missing required field and an unknown kind are reported', async () => {
    const base = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'x' } };
    expect(await kubeSchemaErrors({ ...base, spec: { ports: [{ port: 'eighty' }] } })).toMatch(/port/);
    expect(await kubeSchemaErrors({ ...base, spec: { ports: [{ name: 'no-port' }] } })).toMatch(/port/);
    expect(await kubeSchemaErrors({ ...base, spec: { ports: [{ port: 80 }] } })).toBeUndefined();
    expect(await kubeSchemaErrors({ ...base, kind: 'Servise' })).toMatch(/no schema/);
  });
});
