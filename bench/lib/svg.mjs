// A small horizontal bar chart in plain SVG: one bar per target (the median), a whisker for
// min–max, the value at the end. Skein, peers and the relay in three colours.

const COLORS = { skein: '#0f8b8d', peer: '#8a94a6', relay: '#e07a1f' };
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const num = (x) => (Math.abs(x) >= 1000 ? Math.round(x).toLocaleString('en-US') : Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2));

/**
 * @param {{title: string, subtitle: string, unit: string,
 *   bars: {label: string, family: 'skein'|'peer'|'relay', failed: boolean, median: number, min: number, max: number}[]}} spec
 */
export function barChart(spec) {
  const labelW = 270;
  const plotW = 460;
  const valueW = 150;
  const rowH = 28;
  const top = 58;
  const width = labelW + plotW + valueW;
  const height = top + spec.bars.length * rowH + 30;
  const maxV = Math.max(...spec.bars.map((b) => b.max), 1e-9);
  const x = (v) => labelW + (v / maxV) * plotW;
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="13">`);
  out.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  out.push(`<text x="12" y="22" font-size="15" font-weight="600" fill="#1d2330">${esc(spec.title)}</text>`);
  out.push(`<text x="12" y="42" font-size="11.5" fill="#5b6476">${esc(spec.subtitle)}</text>`);
  spec.bars.forEach((b, i) => {
    const y = top + i * rowH;
    const color = COLORS[b.family] ?? COLORS.peer;
    out.push(`<text x="${labelW - 10}" y="${y + 17}" text-anchor="end" fill="#1d2330"${b.family === 'skein' ? ' font-weight="600"' : ''}>${esc(b.label)}</text>`);
    out.push(`<rect x="${labelW}" y="${y + 5}" width="${Math.max(1, x(b.median) - labelW).toFixed(1)}" height="${rowH - 10}" fill="${color}"${b.failed ? ' fill-opacity="0.35"' : ''} rx="2"/>`);
    if (b.max > b.min) {
      const cy = y + rowH / 2;
      out.push(`<line x1="${x(b.min).toFixed(1)}" x2="${x(b.max).toFixed(1)}" y1="${cy}" y2="${cy}" stroke="#1d2330" stroke-width="1.2"/>`);
      for (const v of [b.min, b.max]) out.push(`<line x1="${x(v).toFixed(1)}" x2="${x(v).toFixed(1)}" y1="${cy - 5}" y2="${cy + 5}" stroke="#1d2330" stroke-width="1.2"/>`);
    }
    out.push(`<text x="${(x(b.max) + 8).toFixed(1)}" y="${y + 17}" fill="#1d2330">${num(b.median)} ${esc(spec.unit)}${b.failed ? ' (FAILED)' : ''}</text>`);
  });
  out.push(`<line x1="${labelW}" x2="${labelW}" y1="${top}" y2="${top + spec.bars.length * rowH}" stroke="#c4c9d4"/>`);
  const ly = height - 12;
  let lx = labelW;
  for (const [family, name] of [['skein', 'Skein'], ['peer', 'peers'], ['relay', 'raw relay']]) {
    out.push(`<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${COLORS[family]}"/><text x="${lx + 17}" y="${ly}" font-size="11.5" fill="#5b6476">${name}</text>`);
    lx += 90;
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
