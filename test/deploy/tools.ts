import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const DEPLOY_DIR = fileURLToPath(new URL('../../deploy', import.meta.url));

/** A Kubernetes object as rendered (plain JSON). */
export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Record<string, string>; readonly annotations?: Record<string, string> };
  readonly [key: string]: unknown;
}

/**
 * `kubectl` whose built-in kustomize is v5 (what deploy/k8s is written for). `.ci/run` provides
 * one (the machine's, or the official binary shipped in an npm package); under CI a missing
 * one fails loudly, elsewhere the caller skips.
 */
export function kubectlBinary(): string | undefined {
  const bin = process.env['KUBECTL'] ?? 'kubectl';
  const run = spawnSync(bin, ['version', '--client'], { encoding: 'utf8' });
  if (run.status === 0 && /Kustomize Version: v5\./.test(run.stdout)) return bin;
  if (process.env.CI) throw new Error(`kubectl with kustomize v5 not found (${bin}): .ci/run installs one`);
  return undefined;
}

/**
 * `kubectl kustomize deploy/k8s/overlays/<overlay>` on a copy of deploy/k8s (so the prod
 * overlay's secrets.env can be made from its example without touching the tree).
 */
export function renderOverlay(kubectl: string, overlay: 'dev' | 'prod'): KubeObject[] {
  const dir = mkdtempSync(join(tmpdir(), 'skein-k8s-'));
  try {
    cpSync(join(DEPLOY_DIR, 'k8s'), join(dir, 'k8s'), { recursive: true, filter: (src) => !src.endsWith('secrets.env') });
    if (overlay === 'prod') cpSync(join(dir, 'k8s/overlays/prod/secrets.env.example'), join(dir, 'k8s/overlays/prod/secrets.env'));
    const run = spawnSync(kubectl, ['kustomize', join(dir, 'k8s/overlays', overlay)], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`kubectl kustomize ${overlay} failed: ${run.stderr}`);
    return parseYamlStream(run.stdout) as KubeObject[];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every document of a YAML stream (merge keys on, as Compose reads them); throws on a YAML error. */
export function parseYamlStream(text: string): unknown[] {
  return parseAllDocuments(text, { merge: true }).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
    return doc.toJS() as unknown;
  });
}

/**
 * kustomize wraps long base64 values of a Secret's `data` over lines (a YAML block scalar);
 * the API server's decoder skips the line breaks, the schema's `byte` format does not.
 */
function apiServerView(object: KubeObject): KubeObject {
  if (object.kind !== 'Secret' || typeof object['data'] !== 'object' || object['data'] === null) return object;
  const data = Object.fromEntries(Object.entries(object['data'] as Record<string, unknown>).map(([k, v]) => [k, typeof v === 'string' ? v.replace(/[\r\n]/g, '') : v]));
  return { ...object, data };
}

/**
 * Validate one object against the Kubernetes OpenAPI schemas of `kubernetes-models` (types,
 * required fields, enums, formats). Resolves with the error text, or undefined when valid.
 * An apiVersion/kind it has no model for is an error: nothing goes unchecked.
 */
export async function kubeSchemaErrors(object: KubeObject): Promise<string | undefined> {
  const spec = `kubernetes-models/${object.apiVersion}/${object.kind}`;
  let module: Record<string, unknown>;
  try {
    module = (await import(spec)) as Record<string, unknown>;
  } catch {
    return `no schema for ${object.apiVersion} ${object.kind}`;
  }
  const Model = module[object.kind] as (new (data: unknown) => { validate(): void }) | undefined;
  if (Model === undefined) return `no schema for ${object.apiVersion} ${object.kind}`;
  try {
    new Model(apiServerView(object)).validate();
    return undefined;
  } catch (err) {
    return `${object.kind}/${object.metadata.name}: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/** deploy/compose/compose.yaml, parsed (merge keys on). */
export function readCompose(): { services: Record<string, { environment?: Record<string, string> } & Record<string, unknown>>; volumes: Record<string, unknown> } {
  return parseYamlStream(readFileSync(join(DEPLOY_DIR, 'compose/compose.yaml'), 'utf8'))[0] as ReturnType<typeof readCompose>;
}

/** A compose service's environment as its container gets it: `${VAR:-default}` interpolated with an empty host environment. */
export function composeServiceEnv(name: string): Record<string, string> {
  const service = readCompose().services[name];
  if (service === undefined) throw new Error(`no compose service ${name}`);
  return Object.fromEntries(
    Object.entries(service.environment ?? {}).map(([k, v]) => [k, String(v).replace(/\$\{([A-Z0-9_]+)(?::-([^}]*))?\}/g, (_w, _n: string, fallback?: string) => fallback ?? '')]),
  );
}
