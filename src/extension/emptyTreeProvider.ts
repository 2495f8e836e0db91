import * as vscode from 'vscode';

/** A view with nothing in it yet (Models, Runs): VS Code then shows the view's welcome content. */
export class EmptyTreeProvider implements vscode.TreeDataProvider<never> {
  getTreeItem(node: never): vscode.TreeItem {
    return node;
  }
  getChildren(): never[] {
    return [];
  }
}
