/**
 * The benchmark plot as plain SVG text: a metric (mAP or AP50, %) against the box ratio, one line per method
 * through the seed means, every seed as a dot, a bar from the lowest to the highest seed. Pure (no DOM), so
 * the webview draws it under its strict CSP (no script, no style sheet from outside), the CLI writes the same
 * `plot.svg` next to the results, and the tests read its numbers back.
 *
 * Why not a charting package: the plot is ~30 marks; Vega-Lite or Chart.js would add 0.3-1 MB to the webview
 * bundle, need canvas or `unsafe-eval`-free builds to be picked with care, and could not write the same
 * picture from the CLI without a DOM.
 */

export interface PlotSeriesPoint {
  ratio: number;
  method: string;
  /** Legend label of the method. */
  label: string;
  /** One value per seed, fractions in [0, 1]. */
  values: number[];
}

export interface PlotOptions {
  metric?: string;
  width?: number;
  height?: number;
  title?: string;
}

const COLOURS: Record<string, string> = { boxes: '#8c8c8c', pointdetr: '#4363d8', pbc: '#e6194b' };
const FALLBACK = ['#3cb44b', '#f58231', '#911eb4', '#42d4f4'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A "nice" axis maximum (1, 2, 2.5, 5 x 10^k) at or above v. */
export function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

export function benchmarkPlotSvg(points: readonly PlotSeriesPoint[], o: PlotOptions = {}): string {
  const W = o.width ?? 560;
  const H = o.height ?? 320;
  const m = { l: 52, r: 170, t: o.title ? 34 : 16, b: 44 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const ratios = [...new Set(points.map((p) => p.ratio))].sort((a, b) => a - b);
  const methods = [...new Map(points.map((p) => [p.method, p.label])).entries()];
  const all = points.flatMap((p) => p.values.map((v) => v * 100)).filter(Number.isFinite);
  const ymax = niceMax(Math.max(1, ...all));
  const pad = 28; // keeps the first and last ratio's marks off the axes
  const xOf = (r: number) => m.l + pad + (ratios.length === 1 ? (pw - 2 * pad) / 2 : (ratios.indexOf(r) / (ratios.length - 1)) * (pw - 2 * pad));
  const yOf = (v: number) => m.t + ph - (v / ymax) * ph;
  const colourOf = (method: string, k: number) => COLOURS[method] ?? FALLBACK[k % FALLBACK.length]!;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12" role="img" aria-label="${esc(`${o.metric ?? 'mAP'} vs box ratio`)}">`);
  if (o.title) out.push(`<text x="${m.l}" y="18" font-size="13" font-weight="bold" fill="currentColor">${esc(o.title)}</text>`);
  // axes and grid
  const ticks = 5;
  for (let i = 0; i <= ticks; i++) {
    const v = (ymax * i) / ticks;
    const y = yOf(v).toFixed(1);
    out.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${y}" y2="${y}" stroke="currentColor" stroke-opacity="${i === 0 ? 0.6 : 0.15}"/>`);
    out.push(`<text x="${m.l - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" fill="currentColor">${+v.toFixed(2)}</text>`);
  }
  for (const r of ratios) {
    const x = xOf(r).toFixed(1);
    out.push(`<line x1="${x}" x2="${x}" y1="${m.t + ph}" y2="${m.t + ph + 4}" stroke="currentColor"/>`);
    out.push(`<text x="${x}" y="${m.t + ph + 17}" text-anchor="middle" fill="currentColor">${esc(`${Math.round(r * 1000) / 10} %`)}</text>`);
  }
  out.push(`<text x="${m.l + pw / 2}" y="${H - 6}" text-anchor="middle" fill="currentColor">box-level images (share of train)</text>`);
  out.push(`<text transform="translate(13 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle" fill="currentColor">${esc(`${o.metric ?? 'mAP'} (%)`)}</text>`);
  // series: offset a little per method so bars and dots of one ratio do not hide each other
  methods.forEach(([method, label], k) => {
    const c = colourOf(method, k);
    const dx = (k - (methods.length - 1) / 2) * 7;
    const pts = ratios.map((r) => points.find((p) => p.method === method && p.ratio === r)).filter((p): p is PlotSeriesPoint => !!p && p.values.length > 0);
    const mean = (p: PlotSeriesPoint) => (p.values.reduce((a, b) => a + b, 0) / p.values.length) * 100;
    if (pts.length > 1) out.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${pts.map((p) => `${(xOf(p.ratio) + dx).toFixed(1)},${yOf(mean(p)).toFixed(1)}`).join(' ')}"/>`);
    for (const p of pts) {
      const x = xOf(p.ratio) + dx;
      const lo = Math.min(...p.values) * 100;
      const hi = Math.max(...p.values) * 100;
      if (p.values.length > 1) out.push(`<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${yOf(lo).toFixed(1)}" y2="${yOf(hi).toFixed(1)}" stroke="${c}" stroke-width="1.5" stroke-opacity="0.7"/>`);
      for (const v of p.values) out.push(`<circle cx="${x.toFixed(1)}" cy="${yOf(v * 100).toFixed(1)}" r="2.5" fill="${c}" fill-opacity="0.6"/>`);
      out.push(`<rect x="${(x - 4).toFixed(1)}" y="${(yOf(mean(p)) - 4).toFixed(1)}" width="8" height="8" fill="${c}"><title>${esc(`${label}, ${Math.round(p.ratio * 1000) / 10} %: ${mean(p).toFixed(1)} (${p.values.length} seed${p.values.length === 1 ? '' : 's'}: ${p.values.map((v) => (v * 100).toFixed(1)).join(', ')})`)}</title></rect>`);
    }
    const ly = m.t + 8 + k * 20;
    out.push(`<rect x="${m.l + pw + 16}" y="${ly - 5}" width="10" height="10" fill="${c}"/><text x="${m.l + pw + 32}" y="${ly}" dominant-baseline="middle" fill="currentColor">${esc(label)}</text>`);
  });
  out.push(`<text x="${m.l + pw + 16}" y="${m.t + 8 + methods.length * 20 + 6}" font-size="11" fill="currentColor" fill-opacity="0.7">■ mean, ● seeds, bar: range</text>`);
  out.push('</svg>');
  return out.join('\n');
}
