/**
 * Reading `GET /metrics` (Prometheus text, docs/observability.md): the sum over all label sets
 * of a series. Histograms are read through their `_sum` and `_count` series.
 */
export type Samples = ReadonlyMap<string, number>;

export function parseMetrics(text: string): Samples {
  const totals = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{.*\})?\s+(\S+)/.exec(line);
    if (match === null) continue;
    const value = Number(match[3]);
    if (!Number.isFinite(value)) continue;
    const name = match[1] ?? '';
    totals.set(name, (totals.get(name) ?? 0) + value);
  }
  return totals;
}

/** Per-second rate of a counter between two scrapes `seconds` apart. */
export function rate(prev: Samples, next: Samples, name: string, seconds: number): number {
  const a = prev.get(name);
  const b = next.get(name);
  if (a === undefined || b === undefined || seconds <= 0) return NaN;
  return Math.max(0, b - a) / seconds;
}

/** Mean of a histogram (in its unit) over the observations between two scrapes; NaN when none. */
export function meanBetween(prev: Samples, next: Samples, histogram: string): number {
  const count = (next.get(`${histogram}_count`) ?? 0) - (prev.get(`${histogram}_count`) ?? 0);
  const sum = (next.get(`${histogram}_sum`) ?? 0) - (prev.get(`${histogram}_sum`) ?? 0);
  return count > 0 ? sum / count : NaN;
}
