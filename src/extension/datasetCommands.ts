/**
 * Dataset commands: open/close, import (every importer of src/core/dataset, with file pickers), export
 * (COCO or PBC layout), filter by class, search by file name, reveal, open image, review pseudo-boxes,
 * undo/redo. Heavy lifting is core; this file asks the user and reports.
 */
import * as vscode from 'vscode';
import * as path from 'node:path';
import { existsSync } from 'node:fs';
import { importCoco } from '../core/dataset/importCoco';
import { importRsna } from '../core/dataset/importRsna';
import { importNih } from '../core/dataset/importNih';
import { importVindr } from '../core/dataset/importVindr';
import { importFolder } from '../core/dataset/importFolder';
import { serializeDataset } from '../core/dataset/datasetJson';
import { writeFileAtomic } from '../core/dataset/writeFileAtomic';
import { formatProblem } from '../core/dataset/DatasetError';
import { exportCoco } from '../core/dataset/exportCoco';
import { splitDataset, type SplitOptions } from '../core/dataset/splitDataset';
import type { ImportResult } from '../core/dataset/DatasetBuilder';
import type { ReviewState } from '../core/dataset/schema';
import type { DatasetSessions } from './DatasetSessions';
import type { DatasetsNode, DatasetsTreeProvider } from './datasetsTreeProvider';

export interface DatasetCommandDeps {
  sessions: DatasetSessions;
  tree: DatasetsTreeProvider;
  view: vscode.TreeView<DatasetsNode>;
  log: vscode.LogOutputChannel;
  register: (id: string, fn: (...args: any[]) => unknown) => void;
  subscriptions: vscode.Disposable[];
}

const FORMATS = [
  { id: 'coco', label: 'COCO / PBC JSON', detail: 'instances_*.json (annotations may carry a "point")' },
  { id: 'rsna', label: 'RSNA Pneumonia', detail: 'stage_2_train_labels.csv + folder of <patientId>.dcm' },
  { id: 'nih', label: 'NIH ChestX-ray14', detail: 'BBox_List_2017.csv + folder of PNGs' },
  { id: 'vindr', label: 'VinDr-CXR', detail: 'train.csv (three readers) + folder of DICOMs, optional WBF fusion' },
  { id: 'folder', label: 'Folder of images', detail: 'every DICOM/PNG/JPEG below a folder, unlabeled' },
] as const;

async function pickFile(title: string, filters: Record<string, string[]>, many = false): Promise<vscode.Uri[] | undefined> {
  return vscode.window.showOpenDialog({ title, canSelectMany: many, filters, openLabel: 'Select' });
}

async function pickFolder(title: string): Promise<vscode.Uri | undefined> {
  return (await vscode.window.showOpenDialog({ title, canSelectFiles: false, canSelectFolders: true, openLabel: 'Select Folder' }))?.[0];
}

/** Runs an importer from explicit options (used by the UI flow and by tests through the command). */
export function runImporter(format: string, o: Record<string, string | undefined>): ImportResult {
  const out = o.out!;
  switch (format) {
    case 'coco': return importCoco({ annotations: o.annotations!.split(','), images: o.images, out });
    case 'rsna': return importRsna({ labels: o.labels!, images: o.images!, out });
    case 'nih': return importNih({ bbox: o.bbox!, images: o.images!, out });
    case 'vindr': return importVindr({ csv: o.csv!, images: o.images!, out, ...(o.fuse === 'wbf' ? { fuse: 'wbf' as const } : {}) });
    case 'folder': return importFolder({ images: o.images!, out });
    default: throw new Error(`unknown import format '${format}'`);
  }
}

export function registerDatasetCommands(d: DatasetCommandDeps): void {
  const { sessions, tree, view, log, register } = d;
  const target = (n?: DatasetsNode) => n ?? view.selection[0] ?? (sessions.uris()[0] ? { uri: sessions.uris()[0]! } : undefined);

  register('pointbox.importDataset', async (format?: string, options?: Record<string, string>) => {
    let fmt = format;
    const o: Record<string, string | undefined> = { ...(options ?? {}) };
    if (!fmt) {
      const pick = await vscode.window.showQuickPick(FORMATS.map((f) => ({ label: f.label, detail: f.detail, id: f.id })), { title: 'Import into a PointBox dataset' });
      if (!pick) return undefined;
      fmt = pick.id;
      const needs: Record<string, [string, 'file' | 'files' | 'folder', Record<string, string[]>?][]> = {
        coco: [['annotations', 'files', { 'COCO JSON': ['json'] }], ['images', 'folder']],
        rsna: [['labels', 'file', { CSV: ['csv'] }], ['images', 'folder']],
        nih: [['bbox', 'file', { CSV: ['csv'] }], ['images', 'folder']],
        vindr: [['csv', 'file', { CSV: ['csv'] }], ['images', 'folder']],
        folder: [['images', 'folder']],
      };
      for (const [key, kind, filters] of needs[fmt] ?? []) {
        if (kind === 'folder') { const u = await pickFolder(`${pick.label}: ${key} folder`); if (!u) return undefined; o[key] = u.fsPath; }
        else { const u = await pickFile(`${pick.label}: ${key}`, filters ?? {}, kind === 'files'); if (!u?.length) return undefined; o[key] = u.map((x) => x.fsPath).join(','); }
      }
      if (fmt === 'vindr') {
        const fuse = await vscode.window.showQuickPick(['Keep readers apart', 'Fuse readers (WBF, IoU 0.5)'], { title: 'VinDr-CXR readers' });
        if (!fuse) return undefined;
        if (fuse.startsWith('Fuse')) o.fuse = 'wbf';
      }
      const dest = await vscode.window.showSaveDialog({ title: 'Save the PointBox dataset as', filters: { 'PointBox dataset': ['json'] },
        defaultUri: vscode.Uri.file(path.join(o.images ?? path.dirname(o.annotations?.split(',')[0] ?? '.'), '..', `${fmt}.pointbox.json`)) });
      if (!dest) return undefined;
      o.out = dest.fsPath;
    }
    if (!o.out) throw new Error('import: no output file given');
    if (!o.out.endsWith('.json')) o.out += '.pointbox.json';
    const result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `PointBox: importing ${fmt}…` }, async () => runImporter(fmt!, o));
    const problems = result.log.problems ?? [];
    for (const p of problems.slice(0, 200)) log.warn(formatProblem(p));
    await writeFileAtomic(o.out, serializeDataset(result.data));
    const uri = vscode.Uri.file(o.out);
    await sessions.list.add(uri);
    const msg = `Imported ${result.data.images.length} images, ${result.data.annotations.length} annotations into ${path.basename(o.out)}` +
      (result.missingFiles ? `; ${result.missingFiles} image files missing` : '') + (problems.length ? `; ${problems.length} problems (see Output)` : '');
    log.info(msg);
    void vscode.window.showInformationMessage(`PointBox: ${msg}`, ...(problems.length ? ['Show Problems'] : [])).then((c) => { if (c) log.show(true); });
    return uri.toString();
  });

  register('pointbox.exportDataset', async (n?: DatasetsNode, layout?: 'coco' | 'pbc', outDir?: string) => {
    const t = target(n);
    const s = t && sessions.get(t.uri);
    if (!s) throw new Error('no dataset selected');
    const lay = layout ?? (await vscode.window.showQuickPick([{ label: 'PBC training layout', id: 'pbc' as const }, { label: 'COCO JSON', id: 'coco' as const }], { title: 'Export as' }))?.id;
    if (!lay) return undefined;
    const out = outDir ?? (await pickFolder('Export into folder'))?.fsPath;
    if (!out) return undefined;
    const r = exportCoco(s.doc.data, { out, datasetDir: s.dir, layout: lay });
    const msg = `exported ${r.files.map((f) => `${path.basename(f.file)} (${f.images} images)`).join(', ')} to ${out}`;
    log.info(msg);
    void vscode.window.showInformationMessage(`PointBox: ${msg}`);
    return r.files.map((f) => f.file);
  });

  register('pointbox.splitDataset', async (n?: DatasetsNode, opts?: Partial<SplitOptions>) => {
    const t = target(n);
    const s = t && sessions.get(t.uri);
    if (!s) throw new Error('no dataset selected');
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
    const t = target(n);
    const s = t && sessions.get(t.uri);
    if (!s) return;
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
    const t = target(n);
    const s = t && sessions.get(t.uri);
    if (!s) return;
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
    const s = t && sessions.get(t.uri);
    const node = s && t?.nodeId ? s.tree.getNode(t.nodeId) : undefined;
    if (!s || node?.imageId === undefined) return;
    const p = s.imagePath(node.imageId)!;
    if (!existsSync(p)) throw new Error(`${p}: image file is missing`);
    // PointBox's own viewer (also for PNG/JPEG, where it is only the optional editor): overlays and editing.
    await vscode.commands.executeCommand('vscode.openWith', vscode.Uri.file(p), 'pointbox.viewer', { preview: true });
  });

  register('pointbox.revealImageFile', async (n?: DatasetsNode) => {
    const t = target(n);
    const s = t && sessions.get(t.uri);
    const node = s && t?.nodeId ? s.tree.getNode(t.nodeId) : undefined;
    const p = node?.imageId !== undefined ? s!.imagePath(node.imageId) : t?.uri.fsPath;
    if (p) await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(p));
  });

  /** Review every pending pseudo-box under a node (image, group or bucket) in one undo step. */
  const review = (state: ReviewState) => async (n?: DatasetsNode) => {
    const t = target(n);
    const s = t && sessions.get(t.uri);
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

  const undoRedo = (redo: boolean) => (n?: DatasetsNode) => {
    const t = target(n);
    const s = t && sessions.get(t.uri);
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
    if (id) void view.reveal({ uri: hit.session.uri, nodeId: id }, { select: true, focus: false, expand: false }).then(undefined, () => undefined);
  };
  d.subscriptions.push(vscode.window.tabGroups.onDidChangeTabs(revealActive));
}
