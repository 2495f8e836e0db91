/**
 * The "Evaluate Point->Box" results page: AP50 / mAP overall and per class for the model and the prior-box
 * baseline, side by side. Table components from @vscode-elements/elements (the successor of the deprecated
 * @vscode/webview-ui-toolkit), so it follows the user's theme.
 */
import '@vscode-elements/elements/dist/vscode-table/index.js';
import '@vscode-elements/elements/dist/vscode-table-header/index.js';
import '@vscode-elements/elements/dist/vscode-table-header-cell/index.js';
import '@vscode-elements/elements/dist/vscode-table-body/index.js';
import '@vscode-elements/elements/dist/vscode-table-row/index.js';
import '@vscode-elements/elements/dist/vscode-table-cell/index.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import { PROTOCOL_VERSION, type EvaluationReport, type EvaluationViewToHost, type HostToEvaluationView } from '../../src/shared/protocol';

declare function acquireVsCodeApi(): { postMessage(m: EvaluationViewToHost): void };
const vscode = acquireVsCodeApi();
const root = document.getElementById('root')!;

const pct = (v: number) => (Number.isFinite(v) ? (100 * v).toFixed(1) : '–');

function el<K extends keyof HTMLElementTagNameMap>(tag: K | string, text?: string, attrs: Record<string, string> = {}): HTMLElement {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

function table(headers: string[], rows: string[][], id: string): HTMLElement {
  const t = el('vscode-table', undefined, { id, zebra: '', bordered: '', 'resizable': '' });
  const h = el('vscode-table-header', undefined, { slot: 'header' });
  for (const x of headers) h.appendChild(el('vscode-table-header-cell', x));
  t.appendChild(h);
  const b = el('vscode-table-body', undefined, { slot: 'body' });
  for (const r of rows) {
    const row = el('vscode-table-row');
    for (const c of r) row.appendChild(el('vscode-table-cell', c));
    b.appendChild(row);
  }
  t.appendChild(b);
  return t;
}

function render(r: EvaluationReport): void {
  root.replaceChildren();
  root.appendChild(el('h2', `Point→box evaluation: ${r.dataset}`));
  root.appendChild(el('p', `Split ${r.split ?? 'all images with boxes'} · points: ${r.pointSource} (seed ${r.seed}) · AP at IoU 0.5 and COCO mAP@[.5:.95], in %`));
  root.appendChild(table(['model', 'device', 'AP50', 'AP75', 'mAP', 'mean best IoU', 'boxes', 'images', 'seconds'],
    r.rows.map((x) => [x.model, x.device, pct(x.ap50), pct(x.ap75), pct(x.map), x.meanBestIou.toFixed(3), String(x.points), String(x.images), x.seconds.toFixed(1)]), 'overall'));
  const classes = [...new Set(r.rows.flatMap((x) => Object.keys(x.perClass)))].sort();
  root.appendChild(el('h3', 'Per class (AP50 / mAP)'));
  root.appendChild(table(['class', 'boxes', ...r.rows.map((x) => x.model)],
    classes.map((c) => [c, String(r.rows[0]?.perClass[c]?.boxes ?? 0), ...r.rows.map((x) => x.perClass[c] ? `${pct(x.perClass[c]!.ap50)} / ${pct(x.perClass[c]!.map)}` : '–')]), 'per-class'));
  for (const w of r.warnings) root.appendChild(el('p', `⚠ ${w}`, { class: 'warning' }));
  if (r.savedTo) {
    const p = el('p', `Saved to ${r.savedTo} `);
    const btn = el('vscode-button', 'Open JSON');
    btn.addEventListener('click', () => vscode.postMessage({ type: 'openJson' }));
    p.appendChild(btn);
    root.appendChild(p);
  }
  vscode.postMessage({ type: 'rendered', rows: r.rows.length });
}

window.addEventListener('message', (ev: MessageEvent<HostToEvaluationView>) => {
  const m = ev.data;
  if (m.type === 'init') {
    if (m.protocol !== PROTOCOL_VERSION) { root.textContent = `PointBox: webview protocol ${PROTOCOL_VERSION} but host sent ${m.protocol}; reload the window.`; return; }
    render(m.report);
  } else if (m.type === 'error') {
    root.textContent = m.message;
  }
});
vscode.postMessage({ type: 'ready' });
