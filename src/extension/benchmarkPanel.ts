import * as vscode from 'vscode';
import * as path from 'node:path';
import { collectResults, verdicts } from '../core/benchmark/benchmarkResults';
import { METHOD_LABELS, paths, type StepKind } from '../core/benchmark/benchmarkSpec';
import { effectiveStatus, readBenchmarkState, type BenchmarkState } from '../core/benchmark/benchmarkState';
import { PROTOCOL_VERSION, type BenchmarkView, type BenchmarkViewToHost, type HostToBenchmarkView } from '../shared/protocol';
import { webviewHtml } from './webviewHtml';

export interface BenchmarkRendered { rows: number; plotDots: number; text: string; status: string }

export interface BenchmarkPanelActions {
  cancel(dir: string): void;
  resume(dir: string): void;
  exportResults(dir: string, format: 'csv' | 'md' | 'svg'): Thenable<unknown>;
  canRun(): boolean;
}

/** The view model of a benchmark folder for the page. */
export function benchmarkView(dir: string, st: BenchmarkState, canRun: boolean): BenchmarkView {
  const r = collectResults(st);
  const logOf = (id: string): string | undefined => {
    const [kind, method, cell] = id.split(':');
    const m = /^r([\d.]+)-s(\d+)$/.exec(cell ?? '');
    if (!m || (kind !== 'teacher' && kind !== 'student')) return undefined;
    const run = (kind === 'teacher' ? paths.teacherRun : paths.studentRun)(method as never, Number(m[1]) / 100, Number(m[2]));
    return path.join(dir, run, 'train.log');
  };
  return {
    name: path.basename(dir), dir, dataset: st.spec.dataset, preset: st.spec.preset, status: effectiveStatus(st), error: st.error,
    evalSplit: r.cells[0]?.evalSplit,
    rows: r.rows.map((row) => ({
      ratio: row.ratio, method: row.method, label: METHOD_LABELS[row.method], seeds: row.seeds, map: row.map.values, ap50: row.ap50.values,
      ...(row.pseudoIou ? { pseudoIou: row.pseudoIou.mean } : {}), ...(row.teacherAp50 ? { teacherAp50: row.teacherAp50.mean } : {}),
    })),
    verdicts: verdicts(r),
    steps: Object.entries(st.steps).map(([id, s]) => ({ id, kind: s.kind as StepKind, status: s.status, seconds: s.seconds, error: s.error, log: logOf(id) })),
    done: r.done, total: r.total, timings: r.timings, canRun,
  };
}

/** One webview panel per benchmark folder, kept in step with benchmark.json. */
export class BenchmarkPanel {
  private static readonly open = new Map<string, BenchmarkPanel>();
  private ready = false;
  private last: BenchmarkRendered | undefined;
  private waiters: ((r: BenchmarkRendered) => void)[] = [];
  private pending: NodeJS.Timeout | undefined;

  private constructor(private readonly panel: vscode.WebviewPanel, readonly dir: string, private readonly actions: BenchmarkPanelActions) {
    panel.webview.onDidReceiveMessage((m: BenchmarkViewToHost) => this.onMessage(m));
    panel.onDidDispose(() => { BenchmarkPanel.open.delete(dir); if (this.pending) clearTimeout(this.pending); });
  }

  static show(extensionUri: vscode.Uri, dir: string, actions: BenchmarkPanelActions, reveal = true): BenchmarkPanel {
    const have = BenchmarkPanel.open.get(dir);
    if (have) { if (reveal) have.panel.reveal(); have.refresh(); return have; }
    const panel = vscode.window.createWebviewPanel('pointbox.benchmark', `Benchmark: ${path.basename(dir)}`, { viewColumn: vscode.ViewColumn.Active, preserveFocus: !reveal }, {
      enableScripts: true, retainContextWhenHidden: true, localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview')],
    });
    panel.webview.html = webviewHtml(panel.webview, extensionUri, 'benchmark', `Benchmark: ${path.basename(dir)}`);
    const p = new BenchmarkPanel(panel, dir, actions);
    BenchmarkPanel.open.set(dir, p);
    return p;
  }

  static of(dir: string): BenchmarkPanel | undefined {
    return BenchmarkPanel.open.get(dir);
  }

  /** Re-reads benchmark.json (or takes the state given) and redraws, at most every 300 ms. */
  refresh(state?: BenchmarkState): void {
    if (!this.ready) return;
    if (this.pending) return;
    this.pending = setTimeout(() => {
      this.pending = undefined;
      let st = state;
      try { st ??= readBenchmarkState(this.dir); } catch (e) { void this.post({ type: 'progress', step: 'benchmark.json', message: (e as Error).message }); return; }
      if (st) void this.post({ type: 'state', protocol: PROTOCOL_VERSION, view: benchmarkView(this.dir, st, this.actions.canRun()) });
    }, 300);
  }

  progress(step: string, message: string): void {
    if (this.ready) void this.post({ type: 'progress', step, message });
  }

  /** The next render after now (or the last one, if it already matches `until`). */
  rendered(until?: (r: BenchmarkRendered) => boolean, timeoutMs = 30_000): Promise<BenchmarkRendered> {
    if (this.last && (!until || until(this.last))) return Promise.resolve(this.last);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`benchmark page did not render${until ? ' the expected state' : ''} within ${timeoutMs} ms`)), timeoutMs);
      const w = (r: BenchmarkRendered) => {
        if (until && !until(r)) { this.waiters.push(w); return; }
        clearTimeout(t);
        resolve(r);
      };
      this.waiters.push(w);
    });
  }

  dispose(): void {
    this.panel.dispose();
  }

  private post(m: HostToBenchmarkView): Thenable<boolean> {
    return this.panel.webview.postMessage(m).then(undefined, () => false);
  }

  private onMessage(m: BenchmarkViewToHost): void {
    switch (m.type) {
      case 'ready': this.ready = true; this.refresh(); return;
      case 'rendered': {
        this.last = { rows: m.rows, plotDots: m.plotDots, text: m.text, status: m.status };
        const ws = this.waiters;
        this.waiters = [];
        for (const w of ws) w(this.last);
        return;
      }
      case 'export': void this.actions.exportResults(this.dir, m.format); return;
      case 'openFolder': void vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(path.join(this.dir, 'benchmark.json'))); return;
      case 'openLog': {
        const v = readBenchmarkState(this.dir);
        const log = v ? benchmarkView(this.dir, v, false).steps.find((s) => s.id === m.step)?.log : undefined;
        if (log) void vscode.window.showTextDocument(vscode.Uri.file(log), { preview: true });
        return;
      }
      case 'cancel': this.actions.cancel(this.dir); return;
      case 'resume': this.actions.resume(this.dir); return;
    }
  }
}
