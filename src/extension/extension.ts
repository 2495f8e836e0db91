import * as vscode from 'vscode';

export function activate(_context: vscode.ExtensionContext): void {
  // Filled in by the extension shell (views, commands, status bar).
}

export function deactivate(): void {}
