import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERRORS } from '../../server/src/errors/registry.js';
import { ATTR, METRIC, SPAN } from '../../server/src/telemetry/names.js';
import { HEALTH_CODE, LOG_EVENT } from '../../server/src/health/names.js';

/**
 * Telemetry owns its names (health its reason codes), and docs/observability.md documents every one of them; the
 * Grafana dashboard queries only metrics that exist.
 */
const doc = readFileSync(new URL('../../docs/observability.md', import.meta.url), 'utf8');
const dashboard = JSON.parse(readFileSync(new URL('../../deploy/grafana/skein-dashboard.json', import.meta.url), 'utf8')) as unknown;

/** Prometheus names of a metric as the exporter writes them (counters get `_total`, histograms their series). */
function prometheusNames(): Set<string> {
  const names = new Set<string>(['target_info']);
  for (const name of Object.values(METRIC)) {
    const base = name.replaceAll('.', '_');
    for (const suffix of ['', '_total', '_bucket', '_sum', '_count']) names.add(base + suffix);
  }
  return names;
}

function expressions(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const item of node) expressions(item, out);
  else if (typeof node === 'object' && node !== null) {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'expr' && typeof value === 'string') out.push(value);
      else expressions(value, out);
    }
  }
  return out;
}

describe('docs/observability.md', () => {
  const groups = { SPAN, METRIC, ATTR, HEALTH_CODE, LOG_EVENT } as const;
  for (const [group, names] of Object.entries(groups)) {
    it(`mentions every ${group} name`, () => {
      const missing = Object.values(names).filter((name) => !doc.includes(`\`${name}\``));
      expect(missing).toEqual([]);
    });
  }

  it('lists the Prometheus name of every metric', () => {
    for (const name of Object.values(METRIC)) {
      const prom = name.replaceAll('.', '_');
      expect(doc.includes(`\`${prom}\``) || doc.includes(`\`${prom}_total\``), prom).toBe(true);
    }
  });

  it('every health code is a registered error code', () => {
    for (const code of Object.values(HEALTH_CODE)) expect(Object.hasOwn(ERRORS, code), code).toBe(true);
  });
});

describe('deploy/grafana/skein-dashboard.json', () => {
  const exprs = expressions(dashboard);

  it('has panels with PromQL', () => {
    expect(exprs.length).toBeGreaterThan(20);
  });

  it('queries only metrics Skein exports', () => {
    const known = prometheusNames();
    const used = new Set(exprs.flatMap((e) => e.match(/\b(?:skein|nodejs|v8js)_[a-z0-9_]+/g) ?? []));
    const unknown = [...used].filter((name) => !known.has(name) && !isLabel(name));
    expect(unknown).toEqual([]);
    // …and shows every Skein metric somewhere.
    const unused = Object.values(METRIC).map((n) => n.replaceAll('.', '_')).filter((base) => ![...used].some((u) => u.startsWith(base)));
    expect(unused).toEqual([]);
  });

  it('links to Jaeger by trace id', () => {
    expect(JSON.stringify(dashboard)).toContain('${jaeger_url}/trace/${trace_id}');
  });
});

/** Label names that look like metric names (`skein_update_source`, …). */
function isLabel(name: string): boolean {
  return Object.values(ATTR).some((attr) => attr.replaceAll('.', '_') === name);
}
