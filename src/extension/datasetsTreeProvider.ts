import * as vscode from 'vscode';
import * as path from 'node:path';
import type { DatasetTreeNode } from '../core/dataset/datasetTreeModel';
import type { DatasetSessions } from './DatasetSessions';
import type { DatasetSession } from './DatasetSession';

/** An element of the Datasets view: a node of one dataset's core tree model (or a dataset that failed to load). */
export interface DatasetsNode {
  uri: vscode.Uri;
  /** Node id in the dataset's DatasetTreeModel; undefined for the dataset root. */
  nodeId?: string;
}

const ICONS: Record<string, [string, string?]> = {
  dataset: ['database'], split: ['folder-library'], bucket: ['folder'],
  'group-boxes': ['symbol-class', 'charts.green'], 'group-points': ['debug-breakpoint-log', 'charts.blue'],
  'group-unlabeled': ['circle-outline'], 'group-pending': ['watch', 'charts.yellow'], 'group-accepted': ['pass', 'charts.green'],
  'group-edited': ['edit', 'charts.purple'], 'group-rejected': ['error', 'charts.red'],
  'image-boxes': ['symbol-class', 'charts.green'], 'image-negative': ['check'], 'image-points': ['debug-breakpoint-log', 'charts.blue'],
  'image-unlabeled': ['file-media'], 'image-missing': ['warning', 'list.warningForeground'],
  'image-pseudo-pending': ['watch', 'charts.yellow'], 'image-pseudo-accepted': ['pass', 'charts.green'],
  'image-pseudo-edited': ['edit', 'charts.purple'], 'image-pseudo-rejected': ['error', 'charts.red'],
};

function icon(kind: string): vscode.ThemeIcon {
  const [id, color] = ICONS[kind] ?? ['circle-small'];
  return new vscode.ThemeIcon(id, color ? new vscode.ThemeColor(color) : undefined);
}

function tooltip(n: DatasetTreeNode): vscode.MarkdownString {
  const md = new vscode.MarkdownString(`**${n.label}**${n.tooltip ? `\n\n${n.tooltip}` : ''}`);
  const rows = Object.entries(n.classCounts);
  if (rows.length) {
    md.appendMarkdown('\n\n| class | boxes | points | pseudo |\n|---|---:|---:|---:|\n');
    for (const [name, c] of rows) md.appendMarkdown(`| ${name.replace(/\|/g, '\\|')} | ${c.boxes} | ${c.points} | ${c.pseudo} |\n`);
  }
  return md;
}

/**
 * The Datasets view. Everything it shows comes from each dataset's core DatasetTreeModel (indexed once per
 * load, bucketed so no level has more than 500 children); this class only maps nodes to TreeItems.
 */
export class DatasetsTreeProvider implements vscode.TreeDataProvider<DatasetsNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<DatasetsNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly sub: vscode.Disposable;

  constructor(private readonly sessions: DatasetSessions) {
    this.sub = sessions.onDidChange(() => this.refresh());
  }

  refresh(): void {
    this.changed.fire(undefined);
  }

  private session(n: DatasetsNode): DatasetSession | undefined {
    return this.sessions.get(n.uri);
  }

  getTreeItem(n: DatasetsNode): vscode.TreeItem {
    const s = this.session(n);
    if (!s) {
      const item = new vscode.TreeItem(path.basename(n.uri.fsPath), vscode.TreeItemCollapsibleState.None);
      item.id = n.uri.toString();
      item.description = 'cannot be opened';
      item.tooltip = this.sessions.errorOf(n.uri);
      item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('errorForeground'));
      item.contextValue = 'dataset-error';
      return item;
    }
    const node = n.nodeId ? s.tree.getNode(n.nodeId) : s.tree.getChildren()[0];
    if (!node) return new vscode.TreeItem('(gone)');
    const state = node.collapsible === 'none' ? vscode.TreeItemCollapsibleState.None
      : node.collapsible === 'expanded' ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed;
    const item = new vscode.TreeItem(node.type === 'dataset' ? s.name : node.label, state);
    item.id = `${n.uri.toString()}#${node.id}`;
    item.description = node.description;
    item.tooltip = tooltip(node);
    item.iconPath = icon(node.kind);
    item.contextValue = node.type === 'group' ? `group-${node.group}` : node.type === 'image' ? (node.group && ['pending', 'accepted', 'edited', 'rejected'].includes(node.group) ? 'image-pseudo' : 'image') : node.type;
    if (node.type === 'image' && node.imageId !== undefined) {
      const p = s.imagePath(node.imageId);
      if (p) {
        item.resourceUri = vscode.Uri.file(p);
        item.command = { command: 'pointbox.openImage', title: 'Open Image', arguments: [n] };
      }
    }
    return item;
  }

  getChildren(n?: DatasetsNode): DatasetsNode[] {
    if (!n) return this.sessions.uris().map((uri) => ({ uri }));
    const s = this.session(n);
    if (!s) return [];
    const id = n.nodeId ?? s.tree.getChildren()[0]?.id;
    return s.tree.getChildren(id).map((c) => ({ uri: n.uri, nodeId: c.id }));
  }

  getParent(n: DatasetsNode): DatasetsNode | undefined {
    if (!n.nodeId) return undefined;
    const s = this.session(n);
    const rootId = s?.tree.getChildren()[0]?.id;
    const parent = s?.tree.parentOf(n.nodeId);
    if (!parent || parent === rootId) return { uri: n.uri };
    return { uri: n.uri, nodeId: parent };
  }

  dispose(): void {
    this.sub.dispose();
    this.changed.dispose();
  }
}
