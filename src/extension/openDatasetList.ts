import * as vscode from 'vscode';

const KEY = 'pointbox.openDatasets';

/**
 * The datasets the user has open in this workspace, remembered in workspaceState so they reopen with
 * the workspace. Stored as URI strings (works for remote workspaces too).
 */
export class OpenDatasetList {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;

  constructor(private readonly state: vscode.Memento) {}

  list(): vscode.Uri[] {
    return (this.state.get<string[]>(KEY) ?? []).map((s) => vscode.Uri.parse(s));
  }

  async add(uri: vscode.Uri): Promise<boolean> {
    const all = this.state.get<string[]>(KEY) ?? [];
    if (all.includes(uri.toString())) return false;
    await this.state.update(KEY, [...all, uri.toString()]);
    this.changed.fire();
    return true;
  }

  async remove(uri: vscode.Uri): Promise<void> {
    const all = this.state.get<string[]>(KEY) ?? [];
    await this.state.update(KEY, all.filter((s) => s !== uri.toString()));
    this.changed.fire();
  }

  dispose(): void {
    this.changed.dispose();
  }
}
