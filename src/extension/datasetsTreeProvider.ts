import * as vscode from 'vscode';
import * as path from 'node:path';
import { DATASET_NODE_ID, type DatasetTreeNode } from '../core/dataset/datasetTreeModel';
import type { DatasetSessions, SessionsChange } from './DatasetSessions';
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
 *
 * Refreshes are targeted: after an edit the dataset's tree model names the node ids that changed, and only
 * those elements are fired (VS Code re-reads the top-most of them with its expanded children). Elements are
 * kept as one object per node id, because VS Code finds the node to refresh by element identity, and
 * TreeItems are cached per node until that node changes, so re-reading an expanded group of 500 unchanged
 * images costs 500 cache hits. A dataset still loading shows as such; one that failed shows its error and
 * can be reloaded or closed.
 */
export class DatasetsTreeProvider implements vscode.TreeDataProvider<DatasetsNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<DatasetsNode | DatasetsNode[] | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly sub: vscode.Disposable;
  /** One element object per `${uri}#${nodeId}` (nodeId '' for a dataset's root). */
  private readonly nodes = new Map<string, DatasetsNode>();
  private readonly items = new Map<string, vscode.TreeItem>();
  /** getTreeItem calls that built an item (not served from the cache): for tests and the edit benchmark. */
  itemsBuilt = 0;

  constructor(private readonly sessions: DatasetSessions) {
    this.sub = sessions.onDidChange((c) => this.onSessionsChange(c));
  }

  private key(uri: vscode.Uri, nodeId?: string): string {
    return `${uri.toString()}#${nodeId ?? ''}`;
  }

  private node(uri: vscode.Uri, nodeId?: string): DatasetsNode {
    const k = this.key(uri, nodeId);
    let n = this.nodes.get(k);
    if (!n) { n = nodeId === undefined ? { uri } : { uri, nodeId }; this.nodes.set(k, n); }
    return n;
  }

  private forget(uri: vscode.Uri, keepRoot: boolean): void {
    const prefix = `${uri.toString()}#`;
    for (const k of [...this.nodes.keys()]) if (k.startsWith(prefix) && !(keepRoot && k === prefix)) this.nodes.delete(k);
    for (const k of [...this.items.keys()]) if (k.startsWith(prefix)) this.items.delete(k);
  }

  private onSessionsChange(c: SessionsChange): void {
    if (!c.uri) { this.refresh(); return; } // datasets opened or closed: the root level changes
    const root = this.nodes.get(this.key(c.uri));
    if (!c.update || c.update.rebuilt) {
      // Loaded, failed, reloaded, re-indexed: that dataset's whole subtree (ids may have moved).
      this.forget(c.uri, true);
      this.changed.fire(root ?? undefined);
      return;
    }
    const fire: DatasetsNode[] = [];
    for (const id of c.update.nodeIds) {
      const k = this.key(c.uri, id === DATASET_NODE_ID ? undefined : id);
      this.items.delete(k);
      const n = this.nodes.get(k);
      if (n) fire.push(n); // never shown: nothing on screen to refresh
    }
    // Children of a refreshed group/bucket may be different images now: their cached items stay valid
    // (an image row depends only on that image), so only the named nodes lose their items.
    if (fire.length) this.changed.fire(fire);
  }

  /** Everything again (filter changes, Refresh). */
  refresh(): void {
    this.items.clear();
    this.changed.fire(undefined);
  }

  private session(n: DatasetsNode): DatasetSession | undefined {
    return this.sessions.get(n.uri);
  }

  getTreeItem(n: DatasetsNode): vscode.TreeItem {
    const k = this.key(n.uri, n.nodeId);
    const cached = this.items.get(k);
    if (cached) return cached;
    const item = this.buildItem(n);
    this.itemsBuilt++;
    // Loading/error placeholders are not cached: they change when the load ends.
    if (this.session(n)) this.items.set(k, item);
    return item;
  }

  private buildItem(n: DatasetsNode): vscode.TreeItem {
    const s = this.session(n);
    if (!s) {
      const item = new vscode.TreeItem(path.basename(n.uri.fsPath), vscode.TreeItemCollapsibleState.None);
      item.id = n.uri.toString();
      const error = this.sessions.errorOf(n.uri);
      if (error === undefined) {
        item.description = 'loading…';
        item.iconPath = new vscode.ThemeIcon('loading~spin');
        item.contextValue = 'dataset-loading';
        return item;
      }
      item.description = `cannot be opened: ${error.split('\n')[0]}`;
      item.tooltip = new vscode.MarkdownString().appendText(`${n.uri.fsPath}\n\n${error}\n\nFix the file, then Reload Dataset (or Close Dataset).`);
      item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('errorForeground'));
      item.contextValue = 'dataset-error';
      item.command = { command: 'pointbox.showDatasetError', title: 'Show Error', arguments: [n] };
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
      if (p) item.resourceUri = vscode.Uri.file(p);
      // A path that leaves the dataset's folder and image root has no file link; opening it says why it is refused.
      else item.description = [node.description, 'path refused'].filter(Boolean).join(' · ');
      item.command = { command: 'pointbox.openImage', title: 'Open Image', arguments: [n] };
    }
    return item;
  }

  getChildren(n?: DatasetsNode): DatasetsNode[] {
    if (!n) return this.sessions.uris().map((uri) => this.node(uri));
    const s = this.session(n);
    if (!s) return [];
    const id = n.nodeId ?? s.tree.getChildren()[0]?.id;
    return s.tree.getChildren(id).map((c) => this.node(n.uri, c.id));
  }

  getParent(n: DatasetsNode): DatasetsNode | undefined {
    if (!n.nodeId) return undefined;
    const s = this.session(n);
    const rootId = s?.tree.getChildren()[0]?.id;
    const parent = s?.tree.parentOf(n.nodeId);
    if (!parent || parent === rootId) return this.node(n.uri);
    return this.node(n.uri, parent);
  }

  /** The element object for a node (for reveal: VS Code matches elements by identity). */
  element(uri: vscode.Uri, nodeId?: string): DatasetsNode {
    return this.node(uri, nodeId);
  }

  dispose(): void {
    this.sub.dispose();
    this.changed.dispose();
  }
}
