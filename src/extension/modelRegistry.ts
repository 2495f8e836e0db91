import * as vscode from 'vscode';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { readOnnxMetadata } from '../core/inference/readOnnxMetadata';
import { boxPriorSummary, checkBoxPrior } from '../core/inference/boxPrior';
import { modelKindOf, type ModelKind } from '../core/inference/detectorContract';

export type ModelSource = 'shipped' | 'workspace' | 'run';

export interface ModelEntry {
  uri: vscode.Uri;
  source: ModelSource;
  name: string;
  sha256?: string;
  classes?: string[];
  inputSize?: number;
  bytes?: number;
  /** Why it does not look like a PointBox model (checked fully when loaded). */
  problem?: string;
  /** Contract version and box prior in one line: "v2, prior-residual; prior-only classes: ...". */
  contract?: string;
  /** Point->box model (Generate/Evaluate) or detector (the viewer's detector layer): metadata `pointbox.kind`. */
  kind?: ModelKind;
}

const SELECTED = 'pointbox.selectedModel';

/**
 * The default when the user chose nothing: the newest shipped point->box model (pointbox-pbc-v2 over v1:
 * names compared with their numbers, so v10 comes after v9). Older ones stay listed for comparison.
 */
export function newestShipped<T extends { source: ModelSource; name: string }>(entries: readonly T[]): T | undefined {
  return entries.filter((e) => e.source === 'shipped')
    .sort((a, b) => b.name.localeCompare(a.name, 'en', { numeric: true }))[0];
}
/** The detector the viewer's detector layer runs (a separate choice: it is another kind of model). */
const SELECTED_DETECTOR = 'pointbox.selectedDetector';
/** model.onnx files of runs the user chose with "Use Run Model": listed even when outside the workspace search. */
const RUN_MODELS = 'pointbox.runModels';

/**
 * Models the Models view lists and "Select Model" offers: those shipped in the extension's models/, ONNX
 * files in the workspace (including training runs' model.onnx) and in pointbox.models.searchPaths.
 * Listing reads each file's metadata and its SHA-256, asynchronously and only when the file is new or its
 * size or mtime changed since the last scan (a rescan of unchanged models reads nothing); the full contract
 * check happens on load. In an untrusted workspace only the models shipped with the extension are listed:
 * a workspace's own files are not loaded into onnxruntime until the user trusts it.
 */
export class ModelRegistry implements vscode.Disposable {
  private entries: ModelEntry[] = [];
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly watcher: vscode.FileSystemWatcher;
  private scanning: Promise<void> | undefined;
  /** Described files by path, with the size:mtime they were described at. */
  private readonly described = new Map<string, { key: string; entry: ModelEntry }>();
  /** Files read and hashed since activation (tests check that a rescan reads nothing new). */
  hashed = 0;

  constructor(private readonly extensionUri: vscode.Uri, private readonly state: vscode.Memento, private readonly log: vscode.LogOutputChannel) {
    this.watcher = vscode.workspace.createFileSystemWatcher('**/*.onnx');
    const rescan = () => void this.refresh();
    this.watcher.onDidCreate(rescan); this.watcher.onDidDelete(rescan); this.watcher.onDidChange(rescan);
  }

  list(): ModelEntry[] {
    return this.entries;
  }

  async ready(): Promise<ModelEntry[]> {
    if (!this.scanning) this.scanning = this.scan();
    await this.scanning;
    return this.entries;
  }

  refresh(): Promise<void> {
    this.scanning = this.scan();
    return this.scanning;
  }

  private async describe(uri: vscode.Uri, source: ModelSource): Promise<ModelEntry> {
    let key = '';
    try { const st = await stat(uri.fsPath); key = `${st.size}:${st.mtimeMs}`; } catch { /* reported by describeNow */ }
    const hit = this.described.get(uri.fsPath);
    if (key && hit?.key === key && hit.entry.source === source) return hit.entry;
    const e = await this.describeNow(uri, source);
    if (key) this.described.set(uri.fsPath, { key, entry: e });
    return e;
  }

  private async describeNow(uri: vscode.Uri, source: ModelSource): Promise<ModelEntry> {
    this.hashed++;
    const e: ModelEntry = { uri, source, name: source === 'run' ? `${path.basename(path.dirname(uri.fsPath))}/${path.basename(uri.fsPath)}` : path.basename(uri.fsPath) };
    try {
      const bytes = await readFile(uri.fsPath);
      e.bytes = bytes.length;
      // Hashed 1 MiB per event-loop turn: a 5 MB model is not one long stall of the host.
      const hash = createHash('sha256');
      for (let i = 0; i < bytes.length; i += 1 << 20) {
        hash.update(bytes.subarray(i, i + (1 << 20)));
        await new Promise<void>((r) => setImmediate(r));
      }
      e.sha256 = hash.digest('hex');
      const facts = readOnnxMetadata(bytes, uri.fsPath);
      e.kind = modelKindOf(facts.metadata);
      const classes = JSON.parse(facts.metadata['pointbox.classes'] ?? 'null');
      if (Array.isArray(classes)) e.classes = classes.map(String);
      const size = Number(facts.metadata['pointbox.input_size']);
      if (Number.isFinite(size)) e.inputSize = size;
      if (!e.classes || !e.inputSize) e.problem = 'no PointBox metadata (classes, input size): not made by the PointBox trainer?';
      const version = facts.metadata['pointbox.contract_version'];
      if (e.kind === 'detector') {
        const det = JSON.parse(facts.metadata['pointbox.detector'] ?? 'null') as { levels?: unknown[]; score_threshold?: number } | null;
        e.contract = `detector v${facts.metadata['pointbox.detector_contract_version'] ?? '?'} (FCOS${det?.levels ? `, ${det.levels.length} levels` : ''})`;
      } else if (version === '2') {
        const bp = checkBoxPrior(facts.metadata['pointbox.box_prior'], e.classes);
        if (bp.prior) e.contract = boxPriorSummary(version, bp.prior);
        else e.problem ??= `contract v2: ${bp.problems.join('; ')}`;
      } else if (version) e.contract = `v${version}`;
    } catch (err) {
      e.problem = err instanceof Error ? err.message : String(err);
    }
    return e;
  }

  private async scan(): Promise<void> {
    const found: ModelEntry[] = [];
    const shipped = vscode.Uri.joinPath(this.extensionUri, 'models');
    try {
      for (const [name, type] of await vscode.workspace.fs.readDirectory(shipped)) {
        if (type === vscode.FileType.File && name.endsWith('.onnx')) found.push(await this.describe(vscode.Uri.joinPath(shipped, name), 'shipped'));
      }
    } catch { /* no models folder */ }
    if (!vscode.workspace.isTrusted) {
      this.entries = found;
      this.log.info(`models: ${found.length} shipped (workspace models are listed once the workspace is trusted)`);
      this.changed.fire();
      return;
    }
    // A benchmark's dozens of teachers and students are its own (its page lists them), not the user's models.
    const files = await vscode.workspace.findFiles('**/*.onnx', '{**/node_modules/**,**/.git/**,**/.pointbox/benchmarks/**}', 500);
    const extra = vscode.workspace.getConfiguration('pointbox').get<string[]>('models.searchPaths', []);
    for (const folder of vscode.workspace.workspaceFolders ?? []) {
      for (const rel of extra) {
        files.push(...await vscode.workspace.findFiles(new vscode.RelativePattern(vscode.Uri.joinPath(folder.uri, rel), '**/*.onnx'), undefined, 200));
      }
    }
    const seen = new Set(found.map((f) => f.uri.fsPath));
    for (const u of this.state.get<string[]>(RUN_MODELS, [])) {
      const uri = vscode.Uri.parse(u);
      if (seen.has(uri.fsPath) || !existsSync(uri.fsPath)) continue;
      seen.add(uri.fsPath);
      found.push(await this.describe(uri, 'run'));
    }
    for (const f of files) {
      if (seen.has(f.fsPath)) continue;
      seen.add(f.fsPath);
      const isRun = path.basename(f.fsPath) === 'model.onnx' && /(^|[\\/])runs?[\\/]/.test(f.fsPath);
      found.push(await this.describe(f, isRun ? 'run' : 'workspace'));
    }
    this.entries = found;
    this.log.info(`models: ${found.length} found (${found.filter((f) => !f.problem).length} usable)`);
    this.changed.fire();
  }

  /** The point->box model Generate/Evaluate use (never a detector). */
  selected(): ModelEntry | undefined {
    const s = this.state.get<string>(SELECTED);
    const usable = this.entries.filter((e) => !e.problem && e.kind !== 'detector');
    return usable.find((e) => e.uri.toString() === s) ?? newestShipped(usable) ?? usable[0];
  }

  /** The detector the viewer's detector layer runs: the chosen one, else the only (or first) one listed. */
  selectedDetector(): ModelEntry | undefined {
    const s = this.state.get<string>(SELECTED_DETECTOR);
    const usable = this.entries.filter((e) => !e.problem && e.kind === 'detector');
    return usable.find((e) => e.uri.toString() === s) ?? usable[0];
  }

  /** What a model file is (kind, classes, problem) without listing it. */
  inspect(uri: vscode.Uri): Promise<ModelEntry> {
    return this.describe(uri, 'run');
  }

  /** Lists a training run's model.onnx (wherever the runs root is) and rescans, so it can be selected. */
  async addRunModel(uri: vscode.Uri): Promise<ModelEntry | undefined> {
    const known = this.state.get<string[]>(RUN_MODELS, []);
    if (!known.includes(uri.toString())) await this.state.update(RUN_MODELS, [...known, uri.toString()]);
    await this.refresh();
    return this.entries.find((e) => e.uri.fsPath === uri.fsPath);
  }

  /** Selects a model for its kind: a detector becomes the viewer's detector, a point->box model the Generate/Evaluate model. */
  async select(uri: vscode.Uri): Promise<void> {
    const e = this.entries.find((x) => x.uri.toString() === uri.toString()) ?? await this.describe(uri, 'workspace');
    await this.state.update(e.kind === 'detector' ? SELECTED_DETECTOR : SELECTED, uri.toString());
    this.changed.fire();
  }

  dispose(): void {
    this.watcher.dispose();
    this.changed.dispose();
  }
}

/** The Models view: one item per model with classes, input size, source and sha256. */
export class ModelsTreeProvider implements vscode.TreeDataProvider<ModelEntry>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly sub: vscode.Disposable;

  constructor(private readonly registry: ModelRegistry) {
    this.sub = registry.onDidChange(() => this.changed.fire());
  }

  getTreeItem(e: ModelEntry): vscode.TreeItem {
    const item = new vscode.TreeItem(e.name, vscode.TreeItemCollapsibleState.None);
    const selected = (e.kind === 'detector' ? this.registry.selectedDetector() : this.registry.selected())?.uri.toString() === e.uri.toString();
    item.id = e.uri.toString();
    item.description = e.problem ? 'not a PointBox model' : `${selected ? '● ' : ''}${e.kind === 'detector' ? 'detector · ' : ''}${e.source} · ${e.classes?.length ?? 0} classes · ${e.inputSize}px`;
    const md = new vscode.MarkdownString(`**${e.name}** (${e.source})\n\n`);
    if (e.problem) md.appendMarkdown(`⚠ ${e.problem}\n\n`);
    if (e.classes) md.appendMarkdown(`Classes: ${e.classes.join(', ')}\n\nInput: ${e.inputSize} × ${e.inputSize}\n\n`);
    if (e.contract) md.appendMarkdown(`Contract: ${e.contract}\n\n`);
    if (e.sha256) md.appendMarkdown(`sha256: \`${e.sha256}\`\n\n`);
    md.appendMarkdown(`${e.uri.fsPath}${e.bytes ? ` (${(e.bytes / 1e6).toFixed(2)} MB)` : ''}`);
    item.tooltip = md;
    item.iconPath = new vscode.ThemeIcon(e.problem ? 'warning' : selected ? 'pass-filled' : e.kind === 'detector' ? 'search' : 'circuit-board');
    item.contextValue = e.problem ? 'model-invalid' : e.kind === 'detector' ? 'model-detector' : 'model';
    item.resourceUri = e.uri;
    return item;
  }

  async getChildren(e?: ModelEntry): Promise<ModelEntry[]> {
    if (e) return [];
    return this.registry.ready();
  }

  dispose(): void {
    this.sub.dispose();
    this.changed.dispose();
  }
}
