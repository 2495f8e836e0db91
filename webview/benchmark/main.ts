/**
 * The benchmark page (PointBox: Run Benchmark / Open Benchmark): PBC's table (student detector mAP and AP50
 * by box ratio and method, each seed shown), the plot (mAP and AP50 vs ratio, seeds' spread), the verdict per
 * ratio, the steps with their status and time, and exports (CSV, Markdown, SVG). Tables from
 * @vscode-elements/elements like the evaluation page; the plot is the SVG `benchmarkPlotSvg` writes for the
 * CLI too (src/shared/benchmarkPlot.ts), so the page and results/plot.svg are the same picture.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import { el, table } from '../shared/elementsTable';
import { PROTOCOL_VERSION, type BenchmarkView, type BenchmarkViewToHost, type HostToBenchmarkView } from '../../src/shared/protocol';
import { benchmarkPlotSvg } from '../../src/shared/benchmarkPlot';

declare function acquireVsCodeApi(): { postMessage(m: BenchmarkViewToHost): void };
const vscode = acquireVsCodeApi();
const root = document.getElementById('root')!;

const pct = (v: number | undefined) => (v !== undefined && Number.isFinite(v) ? (100 * v).toFixed(1) : '–');
const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const sd = (v: number[]) => { if (v.length < 2) return 0; const m = mean(v); return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1)); };
const pm = (v: number[]) => (v.length > 1 ? `${pct(mean(v))} ± ${pct(sd(v))}` : pct(v[0]));

function button(label: string, msg: BenchmarkViewToHost, secondary = false): HTMLElement {
  const b = el('vscode-button', label, secondary ? { secondary: '' } : {});
  b.addEventListener('click', () => vscode.postMessage(msg));
  return b;
}

let progressLine: HTMLElement | undefined;

function render(v: BenchmarkView): void {
  root.replaceChildren();
  root.appendChild(el('h2', `Benchmark: ${v.name}`));
  root.appendChild(el('p', `${v.dataset} · preset ${v.preset ?? 'custom'} · ${v.status}${v.error ? `: ${v.error}` : ''} · ${v.done} of ${v.total} steps done`, { id: 'status' }));
  progressLine = el('p', '', { id: 'progress', class: 'note' });
  root.appendChild(progressLine);
  const bar = el('p');
  if (v.status === 'running') bar.appendChild(button('Cancel', { type: 'cancel' }, true));
  if (v.canRun && (v.status === 'interrupted' || v.status === 'failed' || v.status === 'cancelled')) bar.appendChild(button('Resume', { type: 'resume' }));
  bar.appendChild(button('Export CSV', { type: 'export', format: 'csv' }, true));
  bar.appendChild(button('Export Markdown', { type: 'export', format: 'md' }, true));
  bar.appendChild(button('Save Plot (SVG)', { type: 'export', format: 'svg' }, true));
  bar.appendChild(button('Open Folder', { type: 'openFolder' }, true));
  root.appendChild(bar);

  root.appendChild(el('h3', `Student detector on the ${v.evalSplit ?? 'test'} split (COCO mAP@[.5:.95] and AP50, %; mean ± SD over seeds)`));
  const t = table(['box ratio', 'method', 'seeds', 'mAP', 'AP50', 'mAP per seed', 'AP50 per seed', 'pseudo-box mIoU', 'teacher val AP50'],
    v.rows.map((r) => [`${Math.round(r.ratio * 1000) / 10} %`, r.label, String(r.seeds.length), pm(r.map), pm(r.ap50),
      r.map.map((x, k) => `s${r.seeds[k]}: ${pct(x)}`).join(', '), r.ap50.map((x) => pct(x)).join(', '),
      pct(r.pseudoIou), pct(r.teacherAp50)]), 'results');
  root.appendChild(t);
  if (v.rows.length === 0) root.appendChild(el('p', 'No evaluated student yet: the table fills as each (ratio, seed, method) finishes.'));
  const verdicts = el('ul', undefined, { id: 'verdicts' });
  for (const s of v.verdicts) verdicts.appendChild(el('li', s));
  root.appendChild(verdicts);

  const plots = el('div', undefined, { id: 'plots', style: 'display:flex;flex-wrap:wrap;gap:16px' });
  let dots = 0;
  for (const metric of ['map', 'ap50'] as const) {
    const pts = v.rows.map((r) => ({ ratio: r.ratio, method: r.method, label: r.label, values: metric === 'map' ? r.map : r.ap50 }));
    dots += pts.reduce((a, p) => a + p.values.length, 0);
    const box = el('div', undefined, { class: 'plot', 'data-metric': metric });
    // Our own SVG text (numbers and escaped labels), no script: safe under the page's CSP.
    box.innerHTML = benchmarkPlotSvg(pts, { metric: metric === 'map' ? 'mAP@[.5:.95]' : 'AP50', title: metric === 'map' ? 'mAP vs box ratio' : 'AP50 vs box ratio' });
    plots.appendChild(box);
  }
  root.appendChild(plots);

  root.appendChild(el('h3', 'Steps'));
  if (v.timings.length) root.appendChild(el('p', `Median wall time per step: ${v.timings.map((x) => `${x.kind} ${x.medianS.toFixed(1)} s (${x.steps})`).join(' · ')}`, { id: 'timings' }));
  const steps = table(['step', 'status', 'seconds', 'error'], v.steps.map((s) => [s.id, s.status, s.seconds !== undefined ? s.seconds.toFixed(1) : '', s.error?.split('\n')[0] ?? '']), 'steps');
  root.appendChild(steps);
  const logs = el('p');
  for (const s of v.steps.filter((x) => x.log && (x.status === 'failed' || x.status === 'running'))) logs.appendChild(button(`Open log: ${s.id}`, { type: 'openLog', step: s.id }, true));
  root.appendChild(logs);
  vscode.postMessage({ type: 'rendered', rows: v.rows.length, plotDots: dots, text: t.textContent ?? '', status: v.status });
}

window.addEventListener('message', (ev: MessageEvent<HostToBenchmarkView>) => {
  const m = ev.data;
  if (m.type === 'state') {
    if (m.protocol !== PROTOCOL_VERSION) { root.textContent = `PointBox: webview protocol ${PROTOCOL_VERSION} but host sent ${m.protocol}; reload the window.`; return; }
    render(m.view);
  } else if (m.type === 'progress' && progressLine) {
    progressLine.textContent = `${m.step}: ${m.message}`;
  }
});
vscode.postMessage({ type: 'ready' });
