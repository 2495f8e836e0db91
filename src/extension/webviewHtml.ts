import * as vscode from 'vscode';
import { randomBytes } from 'node:crypto';

/** Page layouts: 'document' (padded, scrolling: the evaluation table) or 'viewer' (full-bleed, no scrolling: the CXR viewer). */
export interface WebviewHtmlOptions {
  body?: 'document' | 'viewer';
  /** data-* attributes of #root: what the page needs before the host's first message (e.g. its worker's URL). */
  rootData?: Record<string, string>;
}

const STYLES = {
  document: 'body{font-family:var(--vscode-font-family);color:var(--vscode-foreground);padding:0 16px} .warning{color:var(--vscode-editorWarning-foreground)} vscode-table{margin-bottom:16px}',
  viewer: 'html,body{height:100%;margin:0;padding:0;overflow:hidden;font-family:var(--vscode-font-family);font-size:var(--vscode-font-size);color:var(--vscode-foreground);background:var(--vscode-editor-background)} #root{height:100%}',
};

/**
 * HTML shell for PointBox webviews with a strict Content Security Policy: no network, scripts only from
 * the extension's dist/webview with a per-load nonce, WebAssembly allowed through 'wasm-unsafe-eval'
 * (never 'unsafe-eval'), images only from the webview's own resources and blob:/data: URLs. A one-line
 * nonce'd script in the head notes when the page itself started (pointboxPageStart): the viewer's timeline
 * separates VS Code's own webview start-up from ours with it.
 */
export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, bundle: string, title: string, opts: WebviewHtmlOptions = {}): string {
  const nonce = randomBytes(16).toString('base64');
  const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview', `${bundle}.js`));
  const attrs = Object.entries(opts.rootData ?? {})
    .map(([k, v]) => ` data-${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}="${v.replace(/[&"<>]/g, (c) => `&#${c.charCodeAt(0)};`)}"`).join('');
  const csp = [
    "default-src 'none'",
    `script-src 'nonce-${nonce}' 'wasm-unsafe-eval'`,
    `style-src ${webview.cspSource} 'unsafe-inline'`,
    `img-src ${webview.cspSource} blob: data:`,
    `font-src ${webview.cspSource}`,
    `worker-src ${webview.cspSource} blob:`,
    `connect-src ${webview.cspSource}`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${title.replace(/[<>&"]/g, '')}</title>
<script nonce="${nonce}">globalThis.pointboxPageStart = performance.now();</script>
<style>${STYLES[opts.body ?? 'document']}</style>
</head><body><div id="root"${attrs}>Loading…</div>
<script type="module" nonce="${nonce}" src="${script}"></script>
</body></html>`;
}
