import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/src/config/load.js';
import { lintDockerfile } from './dockerfile-lint.js';
import { DEPLOY_DIR } from './tools.js';

/**
 * deploy/docker/Dockerfile without a container engine: lint (dockerfile-utils + the hadolint
 * rules listed in dockerfile-lint.ts) and the image contract of docs/deploy.md.
 */

const DOCKERFILE = readFileSync(join(DEPLOY_DIR, 'docker/Dockerfile'), 'utf8');
const DOCKERIGNORE = readFileSync(join(DEPLOY_DIR, '../.dockerignore'), 'utf8');

/** Logical lines (continuations joined), without comments. */
const lines = DOCKERFILE.replace(/\\\n/g, ' ').split('\n').filter((l) => !l.trim().startsWith('#'));
const instructions = (keyword: string): string[] =>
  lines.filter((l) => l.trim().toUpperCase().startsWith(`${keyword} `)).map((l) => l.trim().slice(keyword.length + 1).trim());
/** Instructions of the final stage only. */
const finalStage = lines.slice(lines.findLastIndex((l) => l.trim().toUpperCase().startsWith('FROM ')));
const finalOf = (keyword: string): string[] =>
  finalStage.filter((l) => l.trim().toUpperCase().startsWith(`${keyword} `)).map((l) => l.trim().slice(keyword.length + 1).trim());

/** `KEY=value` pairs of the final stage's ENV lines. */
function imageEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of finalOf('ENV')) for (const m of line.matchAll(/([A-Z_][A-Z0-9_]*)=(\S+)/g)) env[m[1] as string] = m[2] as string;
  return env;
}

describe('deploy/docker/Dockerfile', () => {
  it('passes the lint (no finding)', () => {
    expect(lintDockerfile(DOCKERFILE)).toEqual([]);
  });

  it('the lint is not vacuous: a Dockerfile breaking the rules is reported rule by rule', () => {
    const bad = [
      'FROM node AS base',
      'FROM node:latest AS base',
      'MAINTAINER someone',
      'ENV API_TOKEN=abc',
      'WORKDIR app',
      'ADD . /app',
      'COPY --from=nowhere /x /y',
      'RUN sudo apt-get install -y curl && npm install -g pnpm',
      'USER root',
      'CMD node server.js',
      '',
    ].join('\n');
    const rules = new Set(lintDockerfile(bad).map((f) => f.rule));
    for (const rule of ['DL3006', 'DL3007', 'DL3024', 'DL4000', 'SKEIN1', 'DL3000', 'DL3020', 'DL3022', 'DL3004', 'DL3015', 'DL3016', 'DL3002', 'DL3025']) {
      expect(rules.has(rule), rule).toBe(true);
    }
    expect([...rules].some((r) => r.startsWith('dockerfile-utils:')), 'MAINTAINER reported by dockerfile-utils too').toBe(true);
  });

  it('multi-stage pnpm build from the lockfile, pruned to production dependencies, on a Node 20+ slim base', () => {
    expect(instructions('FROM').length).toBeGreaterThanOrEqual(3);
    const base = /ARG NODE_IMAGE=node:(\d+)[^\s]*-slim/.exec(DOCKERFILE);
    expect(base, 'a slim Node base image').not.toBeNull();
    expect(Number(base?.[1])).toBeGreaterThanOrEqual(20);
    const run = instructions('RUN').join('\n');
    expect(run).toMatch(/pnpm fetch/);
    expect(run).toMatch(/pnpm install --offline --frozen-lockfile/);
    expect(run).toMatch(/deploy --prod/);
    expect(instructions('COPY')).toContain('pnpm-lock.yaml pnpm-workspace.yaml ./');
  });

  it('runtime: non-root, /data volume, EXPOSE = port, HEALTHCHECK on /readyz, STOPSIGNAL SIGTERM, OCI labels, config only by environment', () => {
    const env = imageEnv();
    const config = loadConfig({ env });
    expect(finalOf('USER')).toEqual(['node:node']);
    expect(finalOf('VOLUME')).toEqual([`["${config.dataDir}"]`]);
    expect(config.dataDir).toBe('/data');
    expect(finalOf('EXPOSE')).toEqual([String(config.port)]);
    expect(config.host).toBe('0.0.0.0');
    expect(finalOf('HEALTHCHECK').join(' ')).toMatch(/\/readyz/);
    expect(finalOf('STOPSIGNAL')).toEqual(['SIGTERM']);
    expect(finalOf('ENTRYPOINT')).toEqual(['["node", "/app/dist/cli/main.js"]']);
    const labels = finalOf('LABEL').join(' ');
    for (const label of ['title', 'description', 'licenses', 'version', 'revision', 'created', 'source']) {
      expect(labels, label).toContain(`org.opencontainers.image.${label}=`);
    }
  });

  it('.dockerignore keeps local state, secrets and build output out of the context', () => {
    const entries = DOCKERIGNORE.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
    for (const entry of ['**/node_modules', '**/dist', '.git', 'data', '**/.env', 'deploy/k8s/overlays/*/secrets.env']) {
      expect(entries, entry).toContain(entry);
    }
  });
});
