import * as vscode from 'vscode';
import { PROTOCOL_VERSION, type EvaluationReport, type EvaluationViewToHost, type HostToEvaluationView } from '../shared/protocol';
import { webviewHtml } from './webviewHtml';

/** Shows an evaluation report in a webview table; resolves when the page has rendered it (tests wait on that). */
export function showEvaluationPanel(extensionUri: vscode.Uri, report: EvaluationReport): { panel: vscode.WebviewPanel; rendered: Promise<number> } {
  const panel = vscode.window.createWebviewPanel('pointbox.evaluation', `Point→Box: ${report.dataset}`, vscode.ViewColumn.Active, {
    enableScripts: true,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview')],
  });
  panel.webview.html = webviewHtml(panel.webview, extensionUri, 'evaluation', `Point→Box: ${report.dataset}`);
  const post = (m: HostToEvaluationView) => panel.webview.postMessage(m);
  let resolveRendered!: (n: number) => void;
  const rendered = new Promise<number>((r) => { resolveRendered = r; });
  panel.webview.onDidReceiveMessage((m: EvaluationViewToHost) => {
    if (m.type === 'ready') void post({ type: 'init', protocol: PROTOCOL_VERSION, report });
    else if (m.type === 'rendered') resolveRendered(m.rows);
    else if (m.type === 'openJson' && report.savedTo) void vscode.commands.executeCommand('vscode.open', vscode.Uri.file(report.savedTo));
  });
  return { panel, rendered };
}
