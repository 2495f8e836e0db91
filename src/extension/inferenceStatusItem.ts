import * as vscode from 'vscode';

/**
 * Status-bar item naming the execution provider the point->box model runs on. Until a model has been
 * loaded it shows the configured preference ("auto" etc.), so users can see and change it at a glance.
 */
export class InferenceStatusItem implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;

  constructor() {
    this.item = vscode.window.createStatusBarItem('pointbox.inferenceDevice', vscode.StatusBarAlignment.Right, 100);
    this.item.name = 'PointBox Inference Device';
    this.showConfigured();
    this.item.show();
  }

  /** Shows the configured device before any model has run. */
  showConfigured(): void {
    const device = vscode.workspace.getConfiguration('pointbox').get<string>('inference.device', 'auto');
    this.set(device === 'auto' ? 'auto' : device, `PointBox inference device: ${device} (not loaded yet)`);
  }

  /** Shows the provider that actually ran, e.g. after `auto` fell back from cuda to cpu. */
  set(label: string, tooltip: string): void {
    this.item.text = `$(chip) ${label}`;
    this.item.tooltip = tooltip;
  }

  get text(): string {
    return this.item.text;
  }

  dispose(): void {
    this.item.dispose();
  }
}
