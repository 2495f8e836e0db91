import * as vscode from 'vscode';
import { PROTOCOL_VERSION, type EvaluationReport, type EvaluationViewToHost, type HostToEvaluationView } from '../shared/protocol';
import { webviewHtml } from './webviewHtml';

/** What the page reports once it has drawn the report: table rows and the tables' text (tests wait on it). */
export interface EvaluationRendered {
  rows: number;
  classRows: number;
  text: string;
}

/** Shows an evaluation report in a webview table; `rendered` resolves when the page has drawn it. */
export function showEvaluationPanel(extensionUri: vscode.Uri, report: EvaluationReport): { panel: vscode.WebviewPanel; rendered: Promise<EvaluationRendered> } {
  const panel = vscode.window.createWebviewPanel('pointbox.evaluation', `Point→Box: ${report.dataset}`, vscode.ViewColumn.Active, {
    enableScripts: true,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview')],
  });
  panel.webview.html = webviewHtml(panel.webview, extensionUri, 'evaluation', `Point→Box: ${report.dataset}`);
  const post = (m: HostToEvaluationView) => panel.webview.postMessage(m);
  let resolveRendered!: (r: EvaluationRendered) => void;
  const rendered = new Promise<EvaluationRendered>((r) => { resolveRendered = r; });
  panel.webview.onDidReceiveMessage((m: EvaluationViewToHost) => {
    if (m.type === 'ready') void post({ type: 'init', protocol: PROTOCOL_VERSION, report });
    else if (m.type === 'rendered') resolveRendered({ rows: m.rows, classRows: m.classRows, text: m.text });
    else if (m.type === 'openJson' && report.savedTo) void vscode.commands.executeCommand('vscode.open', vscode.Uri.file(report.savedTo));
  });
  return { panel, rendered };
}
