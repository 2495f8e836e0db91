/**
 * PointBox extension entry point: wires views, commands, status bar and output channel. Everything that
 * does real work lives in src/core (no 'vscode'); this folder only adapts it to VS Code's API.
 */
import * as vscode from 'vscode';
import { performance } from 'node:perf_hooks';
import { productInfo } from '../shared/productInfo';
import { createOutputLog } from './outputLog';
import { InferenceStatusItem } from './inferenceStatusItem';
import { OpenDatasetList } from './openDatasetList';
import { DatasetsTreeProvider, type DatasetsNode } from './datasetsTreeProvider';
import { EmptyTreeProvider } from './emptyTreeProvider';

/** What `pointbox.showInfo` returns (used by users in the palette and by the integration tests). */
export interface PointBoxInfo {
  version: string;
  activationMs: number;
  trusted: boolean;
  openDatasets: string[];
  inferenceStatus: string;
}

const moduleLoadedAt = performance.now();

export function activate(context: vscode.ExtensionContext): { info(): PointBoxInfo } {
  const log = createOutputLog();
  const status = new InferenceStatusItem();
  const openDatasets = new OpenDatasetList(context.workspaceState);
  const datasetsTree = new DatasetsTreeProvider(openDatasets);
  const datasetsView = vscode.window.createTreeView('pointbox.datasets', { treeDataProvider: datasetsTree, showCollapseAll: true, canSelectMany: true });
  context.subscriptions.push(
    log, status, openDatasets, datasetsTree, datasetsView,
    vscode.window.registerTreeDataProvider('pointbox.models', new EmptyTreeProvider()),
    vscode.window.registerTreeDataProvider('pointbox.runs', new EmptyTreeProvider()),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('pointbox.inference.device')) status.showConfigured();
    }),
  );

  let activationMs = 0;
  const info = (): PointBoxInfo => ({
    version: productInfo.version,
    activationMs,
    trusted: vscode.workspace.isTrusted,
    openDatasets: openDatasets.list().map((u) => u.toString()),
    inferenceStatus: status.text,
  });

  const register = (id: string, fn: (...args: any[]) => unknown) =>
    context.subscriptions.push(vscode.commands.registerCommand(id, async (...args: any[]) => {
      try {
        return await fn(...args);
      } catch (e) {
        // Core throws typed errors with the file and the problem in the message; show it, log the stack.
        const msg = e instanceof Error ? e.message : String(e);
        log.error(`${id}: ${e instanceof Error && e.stack ? e.stack : msg}`);
        void vscode.window.showErrorMessage(`PointBox: ${msg}`);
        return undefined;
      }
    }));

  register('pointbox.openDataset', async (uri?: vscode.Uri) => {
    let target = uri instanceof vscode.Uri ? uri : undefined;
    if (!target) {
      const picked = await vscode.window.showOpenDialog({
        canSelectMany: false, openLabel: 'Open Dataset',
        filters: { 'PointBox dataset': ['json'] },
      });
      target = picked?.[0];
    }
    if (!target) return undefined;
    await vscode.workspace.fs.stat(target); // a missing file fails here with a message naming it
    await openDatasets.add(target);
    log.info(`opened dataset ${target.fsPath}`);
    return target.toString();
  });
  register('pointbox.closeDataset', async (node?: DatasetsNode) => {
    const sel = node ?? datasetsView.selection[0];
    if (sel) await openDatasets.remove(sel.uri);
  });
  register('pointbox.importDataset', async () => {
    void vscode.window.showInformationMessage('PointBox: import is available from the CLI (`pointbox import`) in this build.');
  });
  register('pointbox.refresh', () => datasetsTree.refresh());
  register('pointbox.showOutput', () => log.show(true));
  register('pointbox.showInfo', () => {
    const i = info();
    log.info(`PointBox ${i.version}: activated in ${i.activationMs.toFixed(1)} ms, workspace trusted: ${i.trusted}`);
    return i;
  });

  activationMs = performance.now() - moduleLoadedAt;
  log.info(`PointBox ${productInfo.version} activated in ${activationMs.toFixed(1)} ms`);
  return { info };
}

export function deactivate(): void {}
