/**
 * Dataset commands: open/close, import (every importer of src/core/dataset, with file pickers), export
 * (COCO or PBC layout), filter by class, search by file name, reveal, open image, review pseudo-boxes,
 * undo/redo. Heavy lifting is core; this file asks the user and reports.
 */
import * as vscode from 'vscode';
import type { DatasetSession } from './DatasetSession';
import * as path from 'node:path';
import { existsSync } from 'node:fs';
import { formatProblem } from '../core/dataset/DatasetError';
import { splitDataset, type SplitOptions } from '../core/dataset/splitDataset';
import { IMPORT_FORMATS, type ImportFormat, type ImportRequest } from '../core/dataset/importDataset';
import type { ReviewState, SplitName } from '../core/dataset/schema';
import { runDatasetJob } from '../core/workers/datasetJobs';
import type { DeidentifyJobOptions } from '../core/workers/datasetJobMessages';
import { askDeidentify, deidentifiedExport, registerPhiReportCommand } from './deidentifyCommands';
import type { DatasetSessions } from './DatasetSessions';
import type { DatasetsNode, DatasetsTreeProvider } from './datasetsTreeProvider';

export interface DatasetCommandDeps {
  sessions: DatasetSessions;
  tree: DatasetsTreeProvider;
  view: vscode.TreeView<DatasetsNode>;
  log: vscode.LogOutputChannel;
  register: (id: string, fn: (...args: any[]) => unknown) => void;
  subscriptions: vscode.Disposable[];
  /** Shows an image in an open preview viewer of its dataset (ViewerEditorProvider.showInOpenViewer); false: none. */
  showInOpenViewer?: (session: DatasetSession, imageId: number) => Promise<boolean>;
}

async function pickFile(title: string, filters: Record<string, string[]>, many = false): Promise<vscode.Uri[] | undefined> {
  return vscode.window.showOpenDialog({ title, canSelectMany: many, filters, openLabel: 'Select' });
}

async function pickFolder(title: string): Promise<vscode.Uri | undefined> {
  return (await vscode.window.showOpenDialog({ title, canSelectFiles: false, canSelectFolders: true, openLabel: 'Select Folder' }))?.[0];
}

/**
 * The import request from the command's options object (tests, keybindings): the same fields as the CLI's
 * flags, through the same importer table (core/dataset/importDataset).
 */
export function importRequestFrom(format: string, o: Record<string, unknown>): ImportRequest {
  const str = (k: string): string => { const v = o[k]; if (typeof v !== 'string' || !v) throw new Error(`import ${format}: '${k}' is required`); return v; };
  const opt = (k: string): string | undefined => (typeof o[k] === 'string' && o[k] ? (o[k] as string) : undefined);
  switch (format) {
    case 'coco': {
      const a = o.annotations;
      const split = opt('split') as SplitName | undefined;
      if (split && !['train', 'val', 'test', 'unassigned'].includes(split)) throw new Error("import coco: 'split' must be train, val, test or unassigned");
      return { format, annotations: Array.isArray(a) ? a.map(String) : str('annotations').split(',').filter(Boolean), ...(opt('images') ? { images: opt('images') } : {}), ...(split ? { split } : {}) };
    }
    case 'rsna': return { format, labels: str('labels'), images: str('images') };
    case 'nih': return { format, bbox: str('bbox'), images: str('images'), allImages: o.allImages === true || o.allImages === 'true' };
    case 'vindr': {
      const fuse = opt('fuse');
      if (fuse !== undefined && fuse !== 'wbf') throw new Error("import vindr: 'fuse' supports only 'wbf'");
      const iou = o.iouThreshold ?? o.iou;
      return { format, csv: str('csv'), images: str('images'), ...(fuse ? { fuse: 'wbf' as const } : {}), ...(iou !== undefined ? { iouThreshold: Number(iou) } : {}) };
    }
    case 'folder': return { format, images: str('images') };
    default: throw new Error(`unknown import format '${format}' (coco, rsna, nih, vindr, folder)`);
  }
}

/** Asks for a format's inputs and options (the CLI's flags as pickers); undefined when the user cancels. */
async function askImport(format: ImportFormat, label: string): Promise<ImportRequest | undefined> {
  const file = async (key: string, filters: Record<string, string[]>, many = false) => (await pickFile(`${label}: ${key}`, filters, many))?.map((u) => u.fsPath);
  const folder = async (key: string) => (await pickFolder(`${label}: ${key} folder`))?.fsPath;
  switch (format) {
    case 'coco': {
      const annotations = await file('annotations', { 'COCO JSON': ['json'] }, true); if (!annotations?.length) return undefined;
      const images = await folder('images'); if (!images) return undefined;
      const split = await vscode.window.showQuickPick([
        { label: 'From the file names', detail: 'instances_train*.json -> train, *val* -> val, *test* -> test, else unassigned', id: '' },
        ...(['train', 'val', 'test', 'unassigned'] as const).map((x) => ({ label: x, detail: `every image into ${x}`, id: x })),
      ], { title: 'COCO: split of the imported images' });
      if (!split) return undefined;
      return { format, annotations, images, ...(split.id ? { split: split.id as SplitName } : {}) };
    }
    case 'rsna': {
      const labels = (await file('labels', { CSV: ['csv'] }))?.[0]; if (!labels) return undefined;
      const images = await folder('images'); if (!images) return undefined;
      return { format, labels, images };
    }
    case 'nih': {
      const bbox = (await file('BBox list', { CSV: ['csv'] }))?.[0]; if (!bbox) return undefined;
      const images = await folder('images'); if (!images) return undefined;
      const which = await vscode.window.showQuickPick([{ label: 'Images in the box list', all: false }, { label: 'Every image in the folder', detail: 'images without a row become unlabeled', all: true }], { title: 'NIH: which images' });
      if (!which) return undefined;
      return { format, bbox, images, allImages: which.all };
    }
    case 'vindr': {
      const csv = (await file('train.csv', { CSV: ['csv'] }))?.[0]; if (!csv) return undefined;
      const images = await folder('images'); if (!images) return undefined;
      const fuse = await vscode.window.showQuickPick(['Keep readers apart', 'Fuse readers (weighted boxes fusion)'], { title: 'VinDr-CXR readers' });
      if (!fuse) return undefined;
      if (!fuse.startsWith('Fuse')) return { format, csv, images };
      const iou = await vscode.window.showInputBox({ title: 'Fusion IoU threshold', value: '0.5', validateInput: (v) => (Number(v) > 0 && Number(v) < 1 ? undefined : 'a number between 0 and 1') });
      if (iou === undefined) return undefined;
      return { format, csv, images, fuse: 'wbf', iouThreshold: Number(iou) };
    }
    case 'folder': {
      const images = await folder('images'); if (!images) return undefined;
      return { format, images };
    }
  }
}

export function registerDatasetCommands(d: DatasetCommandDeps): void {
  const { sessions, tree, view, log, register } = d;

  const target = (n?: DatasetsNode) => n ?? view.selection[0] ?? (sessions.uris()[0] ? { uri: sessions.uris()[0]! } : undefined);
  const sessionFor = async (n?: DatasetsNode) => {
    const t = target(n);
    if (!t) throw new Error('no dataset selected');
    return sessions.load(t.uri);
  };

  // The importer runs in the dataset job worker: the host posts paths and gets a summary back.
  register('pointbox.importDataset', async (format?: string, options?: Record<string, unknown>) => {
    let req: ImportRequest;
    let out = typeof options?.out === 'string' ? options.out : undefined;
    if (format) req = importRequestFrom(format, options ?? {});
    else {
      const pick = await vscode.window.showQuickPick(IMPORT_FORMATS.map((f) => ({ label: f.label, detail: f.detail, id: f.id })), { title: 'Import into a PointBox dataset' });
      if (!pick) return undefined;
      const asked = await askImport(pick.id, pick.label);
      if (!asked) return undefined;
      req = asked;
      const near = req.images ?? (req.format === 'coco' ? req.annotations[0]! : '.');
      const dest = await vscode.window.showSaveDialog({ title: 'Save the PointBox dataset as', filters: { 'PointBox dataset': ['json'] },
        defaultUri: vscode.Uri.file(path.join(near, '..', `${pick.id}.pointbox.json`)) });
      if (!dest) return undefined;
      out = dest.fsPath;
    }
    if (!out) throw new Error('import: no output file given');
    if (!out.endsWith('.json')) out += '.pointbox.json';
    const dest = out;
    const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `PointBox: importing ${req.format}…`, cancellable: true }, (_p, token) => {
      const ac = new AbortController();
      token.onCancellationRequested(() => ac.abort());
      return runDatasetJob({ type: 'import', request: req, out: dest }, { signal: ac.signal });
    });
    for (const p of r.problems) log.warn(formatProblem(p));
    if (r.total > r.problems.length) log.warn(`... and ${r.total - r.problems.length} more problem(s) (pointbox validate lists them all)`);
    const uri = vscode.Uri.file(dest);
    sessions.retry(uri);
    await sessions.list.add(uri);
    const msg = `Imported ${r.images} images, ${r.annotations} annotations into ${path.basename(dest)} in ${(r.ms / 1000).toFixed(1)} s` +
      (r.missingFiles ? `; ${r.missingFiles} image files missing` : '') + (r.total ? `; ${r.total} problems (see Output)` : '');
    log.info(msg);
    void vscode.window.showInformationMessage(`PointBox: ${msg}`, ...(r.total ? ['Show Problems'] : [])).then((c) => { if (c) log.show(true); });
    return uri.toString();
  });

  // Exports what is on disk after saving every edit, in the job worker (atomic writes and copies off the host).
  // `deidentify`: de-identification options (tests, keybindings); asked for when the layout is (issue 16).
  register('pointbox.exportDataset', async (n?: DatasetsNode, layout?: 'coco' | 'pbc', outDir?: string, deidentify?: DeidentifyJobOptions | false) => {
    const s = await sessionFor(n);
    const lay = layout ?? (await vscode.window.showQuickPick([{ label: 'PBC training layout', id: 'pbc' as const }, { label: 'COCO JSON', id: 'coco' as const }], { title: 'Export as' }))?.id;
    if (!lay) return undefined;
    const deid = deidentify ?? (layout === undefined ? await askDeidentify() : false);
    if (deid === undefined) return undefined;
    const out = outDir ?? (await pickFolder('Export into folder'))?.fsPath;
    if (!out) return undefined;
    await s.flush();
    if (s.doc.isDirty) throw new Error(`${path.basename(s.uri.fsPath)} has edits that could not be saved; export needs them on disk (see the error above)`);
    if (deid) return (await deidentifiedExport(s, s.name, lay, out, deid, log)).files.map((f) => f.file);
    const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `PointBox: exporting ${s.name}…` },
      () => runDatasetJob({ type: 'export', dataset: s.uri.fsPath, out, layout: lay }));
    for (const p of r.problems) log.warn(formatProblem(p));
    const msg = `exported ${r.files.map((f) => `${path.basename(f.file)} (${f.images} images)`).join(', ')} to ${out}`;
    log.info(msg);
    void vscode.window.showInformationMessage(`PointBox: ${msg}`);
    return r.files.map((f) => f.file);
  });

  registerPhiReportCommand(register, sessionFor, log);

  register('pointbox.splitDataset', async (n?: DatasetsNode, opts?: Partial<SplitOptions>) => {
    const s = await sessionFor(n);
    let o: SplitOptions;
    if (opts?.val !== undefined && opts.boxRatio !== undefined) o = { val: opts.val, boxRatio: opts.boxRatio, seed: opts.seed ?? 0, test: opts.test ?? 0, pointRegion: opts.pointRegion ?? 'box' };
    else {
      const num = async (title: string, value: string, lo: number, hi: number) => {
        const v = await vscode.window.showInputBox({ title, value, validateInput: (x) => (Number.isFinite(Number(x)) && Number(x) >= lo && Number(x) <= hi ? undefined : `a number from ${lo} to ${hi}`) });
        return v === undefined ? undefined : Number(v);
      };
      const val = await num('Validation fraction (PBC: 0.2)', '0.2', 0, 0.9); if (val === undefined) return undefined;
      const test = await num('Test fraction', '0', 0, 0.9); if (test === undefined) return undefined;
      const boxRatio = await num('Box ratio: share of train images that keep boxes (PBC: 0.05-0.5)', '0.2', 0, 1); if (boxRatio === undefined) return undefined;
      const seed = await num('Seed', '0', 0, 2 ** 31); if (seed === undefined) return undefined;
      const region = await vscode.window.showQuickPick([{ label: 'box', detail: 'points uniform in the box (RSNA protocol)' }, { label: 'center-2/3', detail: 'points in the central 2/3 of the box (VinDr protocol)' }], { title: 'Where points are sampled' });
      if (!region) return undefined;
      o = { val, test, boxRatio, seed, pointRegion: region.label as SplitOptions['pointRegion'] };
    }
    const summary = s.doc.bulkEdit(`Split (val ${o.val}, box ratio ${o.boxRatio}, seed ${o.seed})`, (draft) => splitDataset(draft, o));
    log.info(`${s.name}: split ${JSON.stringify(summary)}`);
    return summary;
  });

  register('pointbox.filterByClass', async (n?: DatasetsNode, categoryNames?: string[]) => {
    const s = await sessionFor(n);
    const cats = s.doc.data.categories;
    let ids: number[];
    if (categoryNames) ids = cats.filter((c) => categoryNames.some((x) => x.toLowerCase() === c.name.toLowerCase())).map((c) => c.id);
    else {
      const current = new Set(s.tree.getFilter().categoryIds ?? []);
      const picks = await vscode.window.showQuickPick(cats.map((c) => ({ label: c.name, id: c.id, picked: current.has(c.id) })), { canPickMany: true, title: `Show images with these classes (${s.name})` });
      if (!picks) return;
      ids = picks.map((p) => p.id);
    }
    s.tree.setFilter({ ...s.tree.getFilter(), categoryIds: ids });
    tree.refresh();
    void vscode.commands.executeCommand('setContext', 'pointbox.datasetFiltered', true);
  });

  register('pointbox.searchImages', async (n?: DatasetsNode, query?: string) => {
    const s = await sessionFor(n);
    const q = query ?? await vscode.window.showInputBox({ title: `Search ${s.name} by file name`, value: s.tree.getFilter().search ?? '', placeHolder: 'part of a file name, e.g. 00000075' });
    if (q === undefined) return;
    s.tree.setFilter({ ...s.tree.getFilter(), search: q || undefined });
    tree.refresh();
    void vscode.commands.executeCommand('setContext', 'pointbox.datasetFiltered', true);
  });

  register('pointbox.clearFilter', () => {
    for (const s of sessions.loaded()) s.tree.setFilter({});
    tree.refresh();
    void vscode.commands.executeCommand('setContext', 'pointbox.datasetFiltered', false);
  });

  register('pointbox.openImage', async (n?: DatasetsNode) => {
    const t = target(n);
    const s = t && await sessions.load(t.uri);
    const node = s && t?.nodeId ? s.tree.getNode(t.nodeId) : undefined;
    if (!s || node?.imageId === undefined) return;
    const p = s.requireImagePath(node.imageId); // refuses a path that leaves the dataset folder and image root
    if (!existsSync(p)) throw new Error(`${p}: image file is missing`);
    // A visible preview viewer of this dataset moves to the image (prefetched: at once); otherwise a new tab.
    if (await d.showInOpenViewer?.(s, node.imageId)) return;
    // PointBox's own viewer (also for PNG/JPEG, where it is only the optional editor): overlays and editing.
    await vscode.commands.executeCommand('vscode.openWith', vscode.Uri.file(p), 'pointbox.viewer', { preview: true });
  });

  register('pointbox.revealImageFile', async (n?: DatasetsNode) => {
    const t = target(n);
    const s = t && await sessions.load(t.uri);
    const node = s && t?.nodeId ? s.tree.getNode(t.nodeId) : undefined;
    const p = node?.imageId !== undefined ? s!.imagePath(node.imageId) : t?.uri.fsPath;
    if (p) await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(p));
  });

  /** Review every pending pseudo-box under a node (image, group or bucket) in one undo step. */
  const review = (state: ReviewState) => async (n?: DatasetsNode) => {
    const t = target(n);
    const s = t && await sessions.load(t.uri);
    if (!s || !t) return 0;
    const imageIds = new Set<number>();
    const walk = (id: string) => {
      const node = s.tree.getNode(id);
      if (node?.imageId !== undefined) { imageIds.add(node.imageId); return; }
      for (const c of s.tree.getChildren(id)) walk(c.id);
    };
    walk(t.nodeId ?? s.tree.getChildren()[0]!.id);
    const ids = s.doc.data.pseudo_boxes.filter((p) => p.review === 'pending' && imageIds.has(p.image_id)).map((p) => p.id);
    if (ids.length) s.doc.setReview(ids, state);
    log.info(`${s.name}: marked ${ids.length} pending pseudo-box(es) ${state}`);
    return ids.length;
  };
  register('pointbox.acceptPseudoBoxes', review('accepted'));
  register('pointbox.rejectPseudoBoxes', review('rejected'));

  const undoRedo = (redo: boolean) => async (n?: DatasetsNode) => {
    const t = target(n);
    const s = t && await sessions.load(t.uri);
    if (!s) return false;
    const label = redo ? s.doc.redoLabel : s.doc.undoLabel;
    const ok = redo ? s.doc.redo() : s.doc.undo();
    if (ok) void vscode.window.setStatusBarMessage(`PointBox: ${redo ? 'redid' : 'undid'} "${label}"`, 3000);
    return ok;
  };
  register('pointbox.undo', undoRedo(false));
  register('pointbox.redo', undoRedo(true));

  // Reveal the image that is open in the active editor tab (the viewer, or VS Code's image preview).
  const revealActive = () => {
    const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input as { uri?: vscode.Uri } | undefined;
    const uri = input?.uri;
    if (!uri || uri.scheme !== 'file' || !view.visible) return;
    const hit = sessions.findByImagePath(uri.fsPath);
    if (!hit) return;
    const id = hit.session.tree.findImage(hit.imageId);
    if (id) void view.reveal(tree.element(hit.session.uri, id), { select: true, focus: false, expand: false }).then(undefined, () => undefined);
  };
  d.subscriptions.push(vscode.window.tabGroups.onDidChangeTabs(revealActive));
}
