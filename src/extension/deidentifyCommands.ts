/**
 * The UI of de-identification (issue 16): the "how to share" choice of Export Dataset, the key file, the
 * optional mapping file, the report of what was left out, and PointBox: PHI Report (also reached from the
 * viewer's DICOM header panel). The work runs in the dataset job worker (src/core/deidentify).
 */
import * as vscode from 'vscode';
import * as path from 'node:path';
import { existsSync, writeFileSync } from 'node:fs';
import { formatProblem } from '../core/dataset/DatasetError';
import type { ExportLayout } from '../core/dataset/exportCoco';
import { newKeyFileText } from '../core/deidentify/keyedIds';
import { runDatasetJob } from '../core/workers/datasetJobs';
import type { DeidentifyJobOptions, ExportJobResult, PhiReportJobResult } from '../core/workers/datasetJobMessages';
import type { DatasetSession } from './DatasetSession';

const PROFILES = [
  { label: 'De-identified: Basic Profile', profile: 'basic', detail: 'PS3.15 Annex E: names, IDs, dates, institution and device removed or emptied; UIDs replaced; private tags removed; PNG/JPEG metadata dropped' },
  { label: 'De-identified: Basic + Retain Full Dates', profile: 'basic+retain-dates', detail: 'as Basic, but study, series and acquisition dates and times are kept (longitudinal studies)' },
  { label: 'De-identified: Basic + Retain Device Identity', profile: 'basic+retain-device', detail: 'as Basic, but station name, device serial numbers and detector IDs are kept' },
];

/**
 * Asks how to share: as is, or de-identified with one of the profiles (then which key, and whether to write a
 * mapping file). undefined = cancelled; false = as is.
 */
export async function askDeidentify(): Promise<DeidentifyJobOptions | false | undefined> {
  const pick = await vscode.window.showQuickPick([
    { label: 'Images as they are', profile: '', detail: 'links to the original files: DICOM headers (names, IDs, dates) and PNG/JPEG metadata go along' },
    ...PROFILES,
  ], { title: 'Share the images how?' });
  if (!pick) return undefined;
  if (!pick.profile) return false;
  const keyFile = await askKeyFile();
  if (keyFile === undefined) return undefined;
  const map = await vscode.window.showQuickPick([
    { label: 'No mapping file', write: false, detail: 'nobody can link the export back to the patients without the key and the originals' },
    { label: 'Write a mapping file (old -> new)…', write: true, detail: 'outside the export folder; it re-identifies every image, keep it inside the hospital' },
  ], { title: 'Mapping of original files and UIDs to the new ones' });
  if (!map) return undefined;
  let mappingFile: string | undefined;
  if (map.write) {
    mappingFile = (await vscode.window.showSaveDialog({ title: 'Save the mapping (outside the export folder)', filters: { JSON: ['json'] } }))?.fsPath;
    if (!mappingFile) return undefined;
  }
  return { profile: pick.profile, ...(keyFile ? { keyFile } : {}), ...(mappingFile ? { mappingFile } : {}) };
}

/** The key file: the setting pointbox.deidentify.keyFile, or one picked or created now; '' = a one-off random key. */
async function askKeyFile(): Promise<string | undefined> {
  const configured = vscode.workspace.getConfiguration('pointbox').get<string>('deidentify.keyFile', '');
  if (configured) {
    if (!existsSync(configured)) throw new Error(`the key file of setting pointbox.deidentify.keyFile does not exist: ${configured}`);
    return configured;
  }
  const pick = await vscode.window.showQuickPick([
    { label: 'Create a new key file…', id: 'new', detail: 'keep it secret and reuse it: the same key gives the same new UIDs in every export' },
    { label: 'Use a key file…', id: 'existing', detail: 'the key of earlier exports, so studies keep their new UIDs' },
    { label: 'One-off random key', id: 'random', detail: 'the new UIDs will match no other export' },
  ], { title: 'Key of the new UIDs and file names (never written into the export)' });
  if (!pick) return undefined;
  if (pick.id === 'random') return '';
  if (pick.id === 'existing') return (await vscode.window.showOpenDialog({ title: 'De-identification key file', canSelectMany: false, openLabel: 'Use Key' }))?.[0]?.fsPath;
  const dest = (await vscode.window.showSaveDialog({ title: 'Save the new key file (keep it secret, outside the export)' }))?.fsPath;
  if (!dest) return undefined;
  writeFileSync(dest, newKeyFileText(), { mode: 0o600, flag: 'wx' });
  void vscode.window.showInformationMessage(`PointBox: new de-identification key in ${dest}. Set pointbox.deidentify.keyFile to reuse it.`);
  return dest;
}

/** Runs a de-identified export in the job worker and reports exported and left-out images. */
export async function deidentifiedExport(s: DatasetSession, name: string, layout: ExportLayout, out: string, deid: DeidentifyJobOptions, log: vscode.LogOutputChannel): Promise<ExportJobResult> {
  const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `PointBox: exporting ${name} de-identified (${deid.profile})…` },
    () => runDatasetJob({ type: 'export', dataset: s.uri.fsPath, out, layout, deidentify: deid }));
  for (const p of r.problems) log.warn(formatProblem(p));
  const x = r.deidentified!;
  for (const e of x.excluded) log.warn(`de-identified export: left out image id=${e.id} (${e.reason}): ${e.file}: ${e.detail}`);
  if (x.excludedTotal > x.excluded.length) log.warn(`... and ${x.excludedTotal - x.excluded.length} more left out`);
  const burned = x.excluded.filter((e) => e.reason === 'burned-in').length;
  const msg = `exported ${x.exported.dicom} DICOM, ${x.exported.png} PNG, ${x.exported.jpeg} JPEG de-identified (${x.profile}, key id ${x.keyId}) to ${out}` +
    (x.excludedTotal ? `; ${x.excludedTotal} left out${burned ? `, ${burned} of them because their pixels may show text` : ''} (see Output)` : '') + (x.mappingFile ? `; mapping in ${x.mappingFile}` : '');
  log.info(msg);
  void vscode.window.showInformationMessage(`PointBox: ${msg}`, ...(x.excludedTotal ? ['Show List'] : []), ...(burned ? ['Include Them (I checked the pixels)'] : [])).then(async (c) => {
    if (c === 'Show List') log.show(true);
    else if (c) await deidentifiedExport(s, name, layout, out, { ...deid, includeBurnedIn: true }, log);
  });
  return r;
}

/**
 * Reports open as read-only virtual documents (scheme `pointbox-report`), not untitled ones: an untitled
 * document is dirty, so closing it (or Close All, or the window) would ask to save a report nobody edited.
 * One provider for the host's lifetime; each report gets its own URI (and `File: Save As` still works).
 */
const REPORT_SCHEME = 'pointbox-report';
const reports = new Map<string, string>();
let reportProvider: vscode.Disposable | undefined;
function reportUri(title: string, text: string): vscode.Uri {
  reportProvider ??= vscode.workspace.registerTextDocumentContentProvider(REPORT_SCHEME, { provideTextDocumentContent: (u) => reports.get(u.toString()) ?? '' });
  const uri = vscode.Uri.from({ scheme: REPORT_SCHEME, path: `/${title}`, query: String(reports.size + 1) });
  reports.set(uri.toString(), text);
  return uri;
}

/** PointBox: PHI Report: which identifying attributes the dataset's files carry, per file count, as a Markdown document. */
export function registerPhiReportCommand(register: (id: string, fn: (...args: any[]) => unknown) => void, sessionFor: (n?: { uri: vscode.Uri }) => Promise<DatasetSession>, log: vscode.LogOutputChannel): void {
  register('pointbox.phiReport', async (n?: { uri: vscode.Uri }, opts?: { profile?: string; show?: boolean }): Promise<PhiReportJobResult['report']> => {
    const s = await sessionFor(n);
    await s.flush();
    const name = path.basename(s.uri.fsPath);
    const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `PointBox: PHI report of ${name}…` },
      () => runDatasetJob({ type: 'phi-report', dataset: s.uri.fsPath, ...(opts?.profile ? { profile: opts.profile } : {}) }));
    log.info(`PHI report of ${name}: ${r.report.images.dicom} DICOM, ${r.report.dicomAttributes.length} identifying attributes, ${r.report.privateAttributes.files} files with private tags, ${r.report.burnedIn.declared + r.report.burnedIn.likely} burned-in risks (${(r.ms / 1000).toFixed(1)} s)`);
    if (opts?.show !== false) {
      const doc = await vscode.workspace.openTextDocument(reportUri(`PHI report of ${name}.md`, r.markdown));
      await vscode.window.showTextDocument(doc, { preview: true });
      try { await vscode.commands.executeCommand('markdown.showPreview', doc.uri); } catch { /* the source is shown; a preview is a nicety */ }
    }
    return r.report;
  });
}
