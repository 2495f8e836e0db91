import * as vscode from 'vscode';
import * as path from 'node:path';
import type { OpenDatasetList } from './openDatasetList';

/** A node in the Datasets view. Dataset roots carry their file URI; deeper nodes come from the core tree model. */
export interface DatasetsNode {
  kind: 'dataset';
  uri: vscode.Uri;
}

/**
 * The Datasets view: one root per open dataset file. Empty when nothing is open, so VS Code shows the
 * welcome content ("Open dataset…" / "Import…").
 */
export class DatasetsTreeProvider implements vscode.TreeDataProvider<DatasetsNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<DatasetsNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly sub: vscode.Disposable;

  constructor(private readonly datasets: OpenDatasetList) {
    this.sub = datasets.onDidChange(() => this.refresh());
  }

  refresh(): void {
    this.changed.fire(undefined);
  }

  getTreeItem(node: DatasetsNode): vscode.TreeItem {
    const item = new vscode.TreeItem(path.basename(node.uri.fsPath).replace(/\.pointbox\.json$/, ''), vscode.TreeItemCollapsibleState.None);
    item.id = node.uri.toString();
    item.resourceUri = node.uri;
    item.description = vscode.workspace.asRelativePath(path.dirname(node.uri.fsPath));
    item.tooltip = node.uri.fsPath;
    item.contextValue = 'dataset';
    item.iconPath = new vscode.ThemeIcon('database');
    return item;
  }

  getChildren(node?: DatasetsNode): DatasetsNode[] {
    if (!node) return this.datasets.list().map((uri) => ({ kind: 'dataset', uri }));
    return [];
  }

  dispose(): void {
    this.sub.dispose();
    this.changed.dispose();
  }
}
