/**
 * The Runs view: one item per run folder under the runs root of each workspace folder, newest first,
 * with its status, mode, epochs and val AP50; children show key metrics, model.onnx and train.log.
 * Nothing is read until the view asks for its children (activation stays cheap), and then only
 * asynchronously and incrementally (RunDirectoryReader: run.json re-read when its size/mtime moved,
 * metrics.jsonl followed from where the last read stopped). While a run is running and the view is
 * visible it refreshes every 2 s; a watcher on `*\/{run.json,model.onnx}` under the roots picks up runs
 * started elsewhere (the CLI, another window), and `onDidList` lets the training commands attach to them.
 */
import * as vscode from 'vscode';
import * as path from 'node:path';
import { isStaleRun, listRunDirectoriesAsync, RunDirectoryReader, timeFromRunName, type RunSummary } from '../core/training/runDirectory';

export type RunsNode =
  | { kind: 'run'; dir: string; summary: RunSummary; stale?: boolean }
  | { kind: 'metric'; dir: string; label: string; value: string }
  | { kind: 'file'; dir: string; file: string; role: 'model' | 'log'; /** A student detector's model (mode detector), not a point->box model. */ detector?: boolean };

export const DEFAULT_RUNS_ROOT = '.pointbox/runs';

/** The runs roots of the workspace: pointbox.training.runsRoot (absolute, or relative to each folder). */
export function runsRoots(): string[] {
  const roots = new Set<string>();
  for (const folder of vscode.workspace.workspaceFolders ?? []) {
    const setting = vscode.workspace.getConfiguration('pointbox', folder.uri).get<string>('training.runsRoot', '')?.trim() || DEFAULT_RUNS_ROOT;
    roots.add(path.resolve(folder.uri.fsPath, setting));
  }
  return [...roots];
}

/** The runs root for a new run of a dataset: its workspace folder's, else next to the dataset. */
export function runsRootFor(dataset: vscode.Uri): string {
  const folder = vscode.workspace.getWorkspaceFolder(dataset) ?? vscode.workspace.workspaceFolders?.[0];
  const base = folder?.uri.fsPath ?? path.dirname(dataset.fsPath);
  const setting = vscode.workspace.getConfiguration('pointbox', folder?.uri).get<string>('training.runsRoot', '')?.trim() || DEFAULT_RUNS_ROOT;
  return path.resolve(base, setting);
}

const pct = (v: number | undefined) => (v === undefined ? undefined : (v * 100).toFixed(1));

/** `▁▃▅█` from a series (the eval AP50 curve), at most `width` points (the latest). */
export function sparkline(values: readonly number[], width = 24): string {
  const v = values.slice(-width);
  if (v.length === 0) return '';
  const bars = '▁▂▃▄▅▆▇█';
  const lo = Math.min(...v), hi = Math.max(...v);
  return v.map((x) => bars[hi > lo ? Math.round(((x - lo) / (hi - lo)) * (bars.length - 1)) : 0]).join('');
}

/** `2026-11-25 22:18:05` (local time) for our `<UTC time>-<mode>` folders, so the row leaves room for the metrics. */
export function runLabel(name: string): string {
  const t = timeFromRunName(name);
  if (t === undefined) return name;
  const d = new Date(t);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function describeRun(s: RunSummary): string {
  const parts = [s.mode ?? '?'];
  if (s.epochsTotal !== undefined || s.epochsDone) parts.push(`epoch ${s.epochsDone}/${s.epochsTotal ?? '?'}`);
  const ap = pct(s.status === 'completed' ? s.lastAp50 ?? s.bestAp50 : s.lastAp50);
  if (ap !== undefined) parts.push(`AP50 ${ap}`);
  if (s.status !== 'running' && s.status !== 'completed') parts.push(s.status);
  return parts.join(' · ');
}

const ICONS: Record<RunSummary['status'], vscode.ThemeIcon> = {
  running: new vscode.ThemeIcon('sync~spin'),
  completed: new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed')),
  failed: new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed')),
  cancelled: new vscode.ThemeIcon('circle-slash'),
  unknown: new vscode.ThemeIcon('question'),
};

export class RunsTreeProvider implements vscode.TreeDataProvider<RunsNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<RunsNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private watchers: vscode.FileSystemWatcher[] = [];
  private watchedRoots = '';
  private poll: NodeJS.Timeout | undefined;
  private visible = true;
  private runs: RunsNode[] = [];
  private lastFire = 0;
  private readonly reader = new RunDirectoryReader();
  private readonly listed = new vscode.EventEmitter<RunSummary[]>();
  /** Every listing of the runs (the training commands re-attach to live runs they find here). */
  readonly onDidList = this.listed.event;

  /** Runs in progress in this window (started by the launcher): their live summaries win over disk. */
  readonly live = new Map<string, RunSummary>();

  setVisible(v: boolean): void {
    this.visible = v;
    if (v) this.refresh();
  }

  refresh(): void {
    this.changed.fire(undefined);
  }

  /** Live progress of a launched run: refresh at most every 500 ms. */
  update(summary: RunSummary): void {
    this.live.set(summary.dir, summary);
    if (Date.now() - this.lastFire > 500) { this.lastFire = Date.now(); this.refresh(); }
  }

  finished(dir: string): void {
    this.live.delete(dir);
    this.refresh();
  }

  /** Runs as last listed (for commands that take the view's selection). */
  list(): RunsNode[] {
    return this.runs;
  }

  private watch(roots: string[]): void {
    const key = roots.join('\n');
    if (key === this.watchedRoots) return;
    this.watchedRoots = key;
    for (const w of this.watchers) w.dispose();
    this.watchers = roots.map((r) => {
      const w = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(r), '*/{run.json,model.onnx}'));
      const fire = () => this.refresh();
      w.onDidCreate(fire); w.onDidChange(fire); w.onDidDelete(fire);
      return w;
    });
  }

  private schedulePoll(anyRunning: boolean): void {
    if (anyRunning && !this.poll) {
      this.poll = setInterval(() => { if (this.visible) this.refresh(); }, 2000);
    } else if (!anyRunning && this.poll) {
      clearInterval(this.poll);
      this.poll = undefined;
    }
  }

  async getChildren(node?: RunsNode): Promise<RunsNode[]> {
    if (!node) {
      const roots = runsRoots();
      this.watch(roots);
      const dirs = (await Promise.all(roots.map((r) => listRunDirectoriesAsync(r)))).flat();
      this.reader.retain(dirs);
      const summaries = await Promise.all(dirs.map((dir) => this.reader.read(dir)));
      this.runs = dirs.map((dir, i) => {
        const disk = summaries[i]!;
        const live = this.live.get(dir);
        // A run we launched: metrics are newer in memory until run.json is final.
        const summary = live && disk.status === 'running' ? { ...disk, ...live, status: disk.status } : disk;
        if (!live && isStaleRun(disk)) {
          // Shown as what it is (not polled forever); run.json is left alone: it is not ours to rewrite.
          const error = `run.json says "running", but its trainer (pid ${disk.pid}) is not running on this machine and nothing was written for a minute: it probably died with the window or machine that started it.`;
          return { kind: 'run' as const, dir, summary: { ...disk, status: 'unknown' as const, error: disk.error ? `${error}\n${disk.error}` : error }, stale: true };
        }
        return { kind: 'run' as const, dir, summary };
      });
      this.schedulePoll(this.runs.some((r) => r.kind === 'run' && r.summary.status === 'running') || this.live.size > 0);
      this.listed.fire(summaries);
      return this.runs;
    }
    if (node.kind !== 'run') return [];
    const s = node.summary;
    const kids: RunsNode[] = [];
    const metric = (label: string, value: string | undefined) => { if (value !== undefined) kids.push({ kind: 'metric', dir: s.dir, label, value }); };
    metric('Status', s.status + (s.error ? `: ${s.error.split('\n')[0]}` : ''));
    metric('Epochs', `${s.epochsDone}/${s.epochsTotal ?? '?'}${s.step !== undefined ? ` (step ${s.step}${s.totalSteps ? `/${s.totalSteps}` : ''})` : ''}`);
    metric('Train loss', s.lastTrainLoss?.toFixed(4));
    metric('Val AP50', s.lastAp50 === undefined ? undefined : `${pct(s.lastAp50)} (best ${pct(s.bestAp50) ?? '–'})`);
    metric('Images/s', s.imagesPerS?.toFixed(1));
    if (s.modelOnnx) kids.push({ kind: 'file', dir: s.dir, file: s.modelOnnx, role: 'model', ...(s.mode === 'detector' ? { detector: true } : {}) });
    kids.push({ kind: 'file', dir: s.dir, file: path.join(s.dir, 'train.log'), role: 'log' });
    return kids;
  }

  getTreeItem(node: RunsNode): vscode.TreeItem {
    if (node.kind === 'metric') {
      const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.None);
      item.description = node.value;
      item.tooltip = node.value;
      item.contextValue = 'run-metric';
      return item;
    }
    if (node.kind === 'file') {
      const item = new vscode.TreeItem(path.basename(node.file), vscode.TreeItemCollapsibleState.None);
      item.resourceUri = vscode.Uri.file(node.file);
      item.id = `${node.dir}#${node.role}`;
      if (node.role === 'log') {
        item.iconPath = new vscode.ThemeIcon('output');
        item.command = { command: 'pointbox.openRunLog', title: 'Open Log', arguments: [{ dir: node.dir }] };
        item.contextValue = 'run-log';
      } else {
        item.iconPath = new vscode.ThemeIcon(node.detector ? 'search' : 'circuit-board');
        item.description = node.detector ? 'detector (Use Run Model: the viewer\'s detector layer)' : 'point→box model';
        item.contextValue = 'run-model';
      }
      return item;
    }
    const s = node.summary;
    const item = new vscode.TreeItem(runLabel(s.name), vscode.TreeItemCollapsibleState.Collapsed);
    item.id = node.dir;
    item.description = node.stale ? `${describeRun({ ...s, status: 'completed' })} · trainer gone` : describeRun(s);
    item.iconPath = node.stale ? new vscode.ThemeIcon('warning') : ICONS[s.status];
    item.contextValue = `run-${s.status}${s.modelOnnx ? '-model' : ''}`;
    const md = new vscode.MarkdownString(`**${s.name}** — ${s.status}\n\n`);
    const row = (k: string, v: string | undefined) => { if (v !== undefined) md.appendMarkdown(`${k}: ${v}  \n`); };
    row('Mode', s.mode);
    row('Started from', s.init ? `\`${s.init}\` (fine-tuned)` : s.status === 'unknown' ? undefined : 'scratch');
    row('Device', s.device);
    row('Epochs', `${s.epochsDone}/${s.epochsTotal ?? '?'}`);
    row('Last train loss', s.lastTrainLoss?.toFixed(4));
    row('Val AP50', s.lastAp50 === undefined ? undefined : `${pct(s.lastAp50)} (best ${pct(s.bestAp50) ?? '–'})`);
    if (s.ap50History.length > 1) row('AP50 curve', `\`${sparkline(s.ap50History)}\` (${s.ap50History.length} evals)`);
    row('Images/s', s.imagesPerS?.toFixed(1));
    row('Started', s.started);
    row('Finished', s.finished);
    row('Process', s.pid === undefined ? undefined : `pid ${s.pid}${s.pgid !== undefined ? `, group ${s.pgid}` : ''}${s.host ? ` on ${s.host}` : ''}`);
    row('Model', s.modelOnnx);
    md.appendMarkdown(`\n${s.dir}\n\n`);
    if (s.error) md.appendCodeblock(s.error.slice(-2000), 'text');
    if (s.problems.length) md.appendMarkdown(`\n⚠ ${s.problems.length} malformed metrics line(s), e.g. ${s.problems[0]}`);
    item.tooltip = md;
    return item;
  }

  dispose(): void {
    this.listed.dispose();
    for (const w of this.watchers) w.dispose();
    if (this.poll) clearInterval(this.poll);
    this.changed.dispose();
  }
}
