/**
 * DOM helpers the webview pages share (Evaluate, Benchmark): an element with text and attributes, and a
 * @vscode-elements/elements table built from header and row strings. Text goes in as textContent, never as
 * HTML, so values from datasets and model files cannot inject markup.
 */
import '@vscode-elements/elements/dist/vscode-table/index.js';
import '@vscode-elements/elements/dist/vscode-table-header/index.js';
import '@vscode-elements/elements/dist/vscode-table-header-cell/index.js';
import '@vscode-elements/elements/dist/vscode-table-body/index.js';
import '@vscode-elements/elements/dist/vscode-table-row/index.js';
import '@vscode-elements/elements/dist/vscode-table-cell/index.js';

export function el(tag: string, text?: string, attrs: Record<string, string> = {}): HTMLElement {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

export function table(headers: string[], rows: string[][], id: string): HTMLElement {
  const t = el('vscode-table', undefined, { id, zebra: '', bordered: '', resizable: '' });
  const h = el('vscode-table-header', undefined, { slot: 'header' });
  for (const x of headers) h.appendChild(el('vscode-table-header-cell', x));
  t.appendChild(h);
  const b = el('vscode-table-body', undefined, { slot: 'body' });
  for (const r of rows) {
    const row = el('vscode-table-row');
    for (const c of r) row.appendChild(el('vscode-table-cell', c));
    b.appendChild(row);
  }
  t.appendChild(b);
  return t;
}
