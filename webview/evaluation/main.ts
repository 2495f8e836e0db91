/**
 * The "Evaluate Point->Box" results page: the model and the prior-box baseline side by side, micro (box-
 * weighted) and macro AP50 with bootstrap intervals, mean IoU, score calibration, and a per-class table with
 * box counts, so a class with one box cannot hide behind the average or dominate it. Table components from @vscode-elements/elements (the successor of the deprecated
 * @vscode/webview-ui-toolkit), so it follows the user's theme.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import { el, table } from '../shared/elementsTable';
import { PROTOCOL_VERSION, type EvaluationEstimate, type EvaluationReport, type EvaluationViewToHost, type HostToEvaluationView } from '../../src/shared/protocol';

declare function acquireVsCodeApi(): { postMessage(m: EvaluationViewToHost): void };
const vscode = acquireVsCodeApi();
const root = document.getElementById('root')!;

const pct = (v: number) => (Number.isFinite(v) ? (100 * v).toFixed(1) : '–');

const ci = (e: EvaluationEstimate) => (e.ci95 ? `${pct(e.value)} [${pct(e.ci95[0])}, ${pct(e.ci95[1])}]` : pct(e.value));
const num = (v: number, digits = 3) => (Number.isFinite(v) ? v.toFixed(digits) : '–');

function render(r: EvaluationReport): void {
  root.replaceChildren();
  root.appendChild(el('h2', `Point→box evaluation: ${r.dataset}`));
  root.appendChild(el('p', `Split ${r.split ?? 'all images with boxes'} · clicks: ${r.clicks} · AP in %: micro = every box counts once (all classes ranked together), ` +
    `macro = mean over classes; [95 % bootstrap interval over images, ${r.bootstrap.resamples} resamples, seed ${r.bootstrap.seed}]`));
  const overall = table(['model', 'device', 'micro AP50 [95 % CI]', 'macro AP50 [95 % CI]', 'micro AP75', 'micro mAP', 'macro mAP', 'mean IoU [95 % CI]', 'ECE', 'boxes', 'clicks', 'images', 'seconds'],
    r.rows.map((x) => [x.model, x.device, ci(x.micro.ap50), ci(x.macro.ap50), ci(x.micro.ap75), ci(x.micro.map), ci(x.macro.map),
      x.micro.meanIou.ci95 ? `${num(x.micro.meanIou.value)} [${num(x.micro.meanIou.ci95[0])}, ${num(x.micro.meanIou.ci95[1])}]` : num(x.micro.meanIou.value),
      x.calibration ? num(x.calibration.ece) : '–', String(x.boxes), String(x.points), String(x.images), x.seconds.toFixed(1)]), 'overall');
  root.appendChild(overall);
  for (const x of r.rows) {
    if (x.prior) root.appendChild(el('p', `${x.model}: prior ${x.prior.role === 'fallback' ? '(for classes the model does not know) ' : ''}= ${x.prior.description}`, { class: 'prior' }));
    if (!x.calibration && x.calibrationNote) root.appendChild(el('p', `${x.model}: calibration not reported: ${x.calibrationNote}`, { class: 'note' }));
  }

  const classes = [...new Set(r.rows.flatMap((x) => Object.keys(x.perClass)))].sort();
  root.appendChild(el('h3', 'Per class (AP in %, mean IoU of each click\'s box with its own ground truth)'));
  const first = (c: string) => r.rows.find((x) => x.perClass[c])?.perClass[c];
  const perClass = table(['class', 'boxes', 'clicks', ...r.rows.flatMap((x) => [`${x.model} AP50`, `${x.model} AP75`, `${x.model} mAP`, `${x.model} IoU`])],
    classes.map((c) => [c, String(first(c)?.boxes ?? 0), String(first(c)?.queries ?? 0), ...r.rows.flatMap((x) => {
      const k = x.perClass[c];
      if (!k) return ['–', '–', '–', '–'];
      const mark = k.priorFallback ? ' (prior fallback)' : k.priorFrom?.global ? ' (all-class median)' : '';
      return [`${pct(k.ap50)}${mark}`, pct(k.ap75), pct(k.map), num(k.meanIou)];
    })]), 'per-class');
  root.appendChild(perClass);

  const calibrated = r.rows.filter((x) => x.calibration);
  if (calibrated.length) {
    root.appendChild(el('h3', 'Calibration of the score (predicted IoU) against the IoU reached'));
    root.appendChild(table(['model', 'clicks', 'ECE', 'Pearson', 'Spearman', 'bins: predicted → actual IoU (n)'],
      calibrated.map((x) => [x.model, String(x.calibration!.n), num(x.calibration!.ece), num(x.calibration!.pearson, 2), num(x.calibration!.spearman, 2),
        x.calibration!.bins.filter((b) => b.count).map((b) => `${b.low.toFixed(1)}–${b.high.toFixed(1)}: ${num(b.meanPredicted, 2)} → ${num(b.meanActual, 2)} (${b.count})`).join(' · ')]), 'calibration'));
  }
  for (const w of r.warnings) root.appendChild(el('p', `⚠ ${w}`, { class: 'warning' }));
  if (r.savedTo) {
    const p = el('p', `Saved to ${r.savedTo} `);
    const btn = el('vscode-button', 'Open JSON');
    btn.addEventListener('click', () => vscode.postMessage({ type: 'openJson' }));
    p.appendChild(btn);
    root.appendChild(p);
  }
  vscode.postMessage({ type: 'rendered', rows: r.rows.length, classRows: classes.length, text: `${overall.textContent ?? ''}\n${perClass.textContent ?? ''}` });
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
