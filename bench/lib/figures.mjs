// Small helpers shared by the report and the goals: medians, number formatting, the best
// peer of a scenario and ratios.

/** @param {number[]} xs */
export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** A number for a table: thousands separated, 3 significant-ish digits below. */
export const fmt = (x) => {
  if (x === null || x === undefined || Number.isNaN(x)) return '–';
  const a = Math.abs(x);
  if (a >= 1000) return Math.round(x).toLocaleString('en-US');
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  return x.toFixed(2);
};

/** An aggregated metric: median, and (min–max) when there was more than one sample. */
export const cell = (m) => (m === undefined ? '–' : m.n > 1 ? `${fmt(m.median)} (${fmt(m.min)}–${fmt(m.max)})` : fmt(m.median));

/**
 * The best peer (family `peer`: every Hocuspocus major, the y-websocket server; not Skein,
 * not the relay) of a scenario for a metric, among the targets of the same run; same storage
 * class (in memory / persistent) first, any peer when none of that class ran.
 * @returns {{id: string, m: any, sameClass: boolean} | null}
 */
export function bestPeer(report, agg, scenario, key, better, persistent) {
  const entries = Object.entries(agg[scenario] ?? {}).filter(([id, a]) => {
    const t = report.targets.find((x) => x.id === id);
    return t?.family === 'peer' && a.status === 'ok' && a.metrics[key] !== undefined;
  });
  const sameClass = entries.filter(([id]) => report.targets.find((x) => x.id === id)?.persistent === persistent);
  const pool = sameClass.length > 0 ? sameClass : entries;
  if (pool.length === 0) return null;
  pool.sort((a, b) => (better === 'higher' ? b[1].metrics[key].median - a[1].metrics[key].median : a[1].metrics[key].median - b[1].metrics[key].median));
  const [id, a] = /** @type {[string, any]} */ (pool[0]);
  return { id, m: a.metrics[key], sameClass: sameClass.length > 0 };
}

/** Skein ÷ reference, with a note when the min–max ranges overlap (no clear difference). */
export function ratio(skein, ref) {
  if (!skein || !ref || ref.median === 0) return null;
  return { value: skein.median / ref.median, overlap: skein.min <= ref.max && ref.min <= skein.max };
}
export const fmtRatio = (r) => (r === null ? '–' : `${r.value.toFixed(2)}×${r.overlap ? ' ≈' : ''}`);
