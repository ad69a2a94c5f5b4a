/**
 * Pure parsers of the telemetry options' text forms, shared by the config schema (validation)
 * and the telemetry setup. No I/O, no OpenTelemetry imports: the config module loads this.
 */

/** `OTEL_TRACES_SAMPLER` values (the OpenTelemetry SDK environment specification). */
export const SAMPLERS = [
  'always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio',
] as const;
export type SamplerName = (typeof SAMPLERS)[number];

/** Strategies the health model has latency thresholds for (persistence `StrategyKind`). */
export const STRATEGY_KINDS = ['immediate', 'debounced'] as const;
export type StrategyName = (typeof STRATEGY_KINDS)[number];

export type LatencyThresholds = Readonly<Record<StrategyName, number>>;

export const DEFAULT_LATENCY_THRESHOLDS: LatencyThresholds = Object.freeze({ immediate: 100, debounced: 250 });

/**
 * `immediate=100,debounced=250`: p95 write latency (ms) above which persistence counts as
 * slow, per strategy. Strategies left out keep their default. Throws a plain Error with a
 * one-line reason on anything else.
 */
export function parseLatencyThresholds(text: string): LatencyThresholds {
  const out: Record<StrategyName, number> = { ...DEFAULT_LATENCY_THRESHOLDS };
  if (text.trim() === '') return Object.freeze(out);
  for (const part of text.split(',')) {
    const [key = '', value = '', ...rest] = part.trim().split('=');
    if (rest.length > 0 || !isStrategy(key)) {
      throw new Error(`expected strategy=ms pairs with strategy one of ${STRATEGY_KINDS.join(', ')}, got "${part.trim()}"`);
    }
    if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 600_000) {
      throw new Error(`latency threshold for ${key} must be an integer between 1 and 600000 ms, got "${value}"`);
    }
    out[key] = Number(value);
  }
  return Object.freeze(out);
}

function isStrategy(key: string): key is StrategyName {
  return (STRATEGY_KINDS as readonly string[]).includes(key);
}

/**
 * The W3C Baggage-like list the OpenTelemetry spec uses for `OTEL_RESOURCE_ATTRIBUTES` and
 * `OTEL_EXPORTER_OTLP_HEADERS`: `key=value,key2=value2`, values percent-decoded, whitespace
 * around items ignored. Throws a plain Error (never echoing a value: headers carry secrets).
 */
export function parseKeyValueList(text: string): Readonly<Record<string, string>> {
  const out: Record<string, string> = {};
  if (text.trim() === '') return out;
  for (const [i, item] of text.split(',').entries()) {
    const at = item.indexOf('=');
    const key = at < 0 ? '' : item.slice(0, at).trim();
    if (key === '' || !/^[\x21-\x7e]+$/.test(key) || key.includes('=')) {
      throw new Error(`item ${i + 1} is not key=value`);
    }
    let value: string;
    try {
      value = decodeURIComponent(item.slice(at + 1).trim());
    } catch {
      throw new Error(`the value of item ${i + 1} (${key}) is not valid percent-encoding`);
    }
    out[key] = value;
  }
  return out;
}

/** Accepts an empty string or an absolute http(s) URL. */
export function isHttpUrlOrEmpty(text: string): boolean {
  if (text === '') return true;
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/**
 * The OTLP/HTTP traces URL: the signal-specific endpoint as given, else the base endpoint with
 * `v1/traces` appended (the OpenTelemetry exporter spec), else `''` (no endpoint: tracing off).
 */
export function tracesUrl(baseEndpoint: string, tracesEndpoint: string): string {
  if (tracesEndpoint !== '') return tracesEndpoint;
  if (baseEndpoint === '') return '';
  return `${baseEndpoint.endsWith('/') ? baseEndpoint : `${baseEndpoint}/`}v1/traces`;
}
