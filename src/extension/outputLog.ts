import * as vscode from 'vscode';

/** The PointBox output channel (a LogOutputChannel, so users get levels and timestamps for free). */
export function createOutputLog(): vscode.LogOutputChannel {
  return vscode.window.createOutputChannel('PointBox', { log: true });
}
