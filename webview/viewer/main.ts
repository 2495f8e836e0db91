/**
 * The CXR viewer webview (custom editor `pointbox.viewer`). The host posts the file's bytes; the decode
 * worker turns them into full-precision stored values, which stay here; window/level goes through the core
 * grey pipeline into a cached bitmap (displayImage.ts), and pan/zoom only redraw that bitmap with a
 * transform. Overlays (boxes, clicks, pseudo-boxes) are drawn over it from the dataset records the host
 * pushes; every edit is a typed message to the host, which applies it to the DatasetDocument (undo, save).
 * Geometry (transforms, hit tests, drag math) is src/shared/viewerGeometry.ts, unit-tested in Node.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import type { DecodedImage } from '../../src/core/imaging/DecodedImage';
import { applyModality } from '../../src/core/imaging/greyPipeline';
import { PROTOCOL_VERSION, type HostToViewer, type ViewerAnnotation, type ViewerDataset, type ViewerDetection, type ViewerDetections, type ViewerPseudoBox, type ViewerToHost,
  type ViewerEdit, type ViewerNavigation, type ViewerPosition } from '../../src/shared/protocol';
import {
  boxFromCorners, centreOn, clampPoint, cornerOf, CORNERS, fitTransform, hitTest, imageToScreen, moveBox, oneToOneTransform, panBy,
  resizeBox, screenToImage, wheelZoomFactor, windowLevelDrag, zoomAround, nextInCycle,
  type Box, type Corner, type Vec2, type ViewTransform,
} from '../../src/shared/viewerGeometry';
import { DecodeClient, type DecodeFailure } from './decodeClient';
import { renderDisplay } from './displayImage';
import { defaultVoi, fmt, fullRange, voiPresets, windowOf, type ViewerVoi, type VoiPreset } from './voiPresets';
import { categoryColour, PSEUDO_STYLES } from './overlayStyle';
import { headerRows, phiCount } from './headerRows';
import { ByteBudgetCache } from './imageCache';

declare function acquireVsCodeApi(): { postMessage(m: ViewerToHost): void };
const vscode = acquireVsCodeApi();
const post = (m: ViewerToHost) => vscode.postMessage(m);
/** Edits name the image they were made on: the host refuses one that arrives after the viewer moved on. */
const postEdit = (e: ViewerEdit) => { if (dataset && !navigating) post({ ...e, imageId: dataset.imageId }); };

type Tool = 'select' | 'point' | 'box' | 'pan' | 'wl';
const TOOLS: { id: Tool; label: string; key: string; title: string }[] = [
  { id: 'select', label: 'Select', key: 'v', title: 'Select, move and resize (V)' },
  { id: 'point', label: 'Point', key: 'p', title: 'Click a lesion: a point of the current class (P)' },
  { id: 'box', label: 'Box', key: 'b', title: 'Drag a box of the current class (B)' },
  { id: 'pan', label: 'Pan', key: 'h', title: 'Drag to pan (H; or middle-drag / Space+drag with any tool)' },
  { id: 'wl', label: 'W/L', key: 'w', title: 'Drag to window/level (W; or right-drag with any tool)' },
];

const SHORTCUTS = [
  ['Right-drag', 'window/level (horizontal: width, vertical: level)'], ['Wheel', 'zoom around the cursor'],
  ['Middle-drag, Space+drag', 'pan'], ['V P B H W', 'select / point / box / pan / W/L tool'],
  ['F / 1 / 0', 'fit / 1:1 / reset view and window'], ['I', 'invert'], ['O', 'overlays on/off'], ['T', "detector layer on/off (the selected detector's boxes)"],
  ['G', 'hidden ground-truth boxes (points-level images) on/off'], ['A / R', 'accept / reject the selected pending pseudo-box'], ['N', 'next pending pseudo-box in this image (none left: the next image with some)'],
  ['] / [', 'next / previous image of this group (same split and label level, the Datasets tree\'s order)'], ['Shift+N / Shift+P', 'next / previous image with pending pseudo-boxes'],
  ['D', 'DICOM header panel'], ['PageUp / PageDown', 'previous / next frame (multi-frame files)'],
  ['Delete', 'delete the selected annotation'], ['Ctrl+Z / Ctrl+Y', 'undo / redo (dataset)'], ['Esc', 'clear selection'], ['?', 'this list'],
];

// ---- DOM ----
const root = document.getElementById('root')!;
root.innerHTML = `
<style>
  #pb{display:flex;flex-direction:column;height:100%}
  #pb-toolbar{display:flex;flex-wrap:wrap;gap:4px;align-items:center;padding:4px 6px;border-bottom:1px solid var(--vscode-panel-border,#444)}
  #pb-toolbar .sep{width:1px;height:20px;background:var(--vscode-panel-border,#444);margin:0 4px}
  #pb-toolbar vscode-single-select{width:150px}
  #pb-toolbar #pb-preset{width:190px}
  #pb-body{display:flex;flex:1;min-height:0}
  #pb-stage{position:relative;flex:1;min-width:0;background:#000;overflow:hidden}
  #pb-header{width:340px;overflow:auto;border-left:1px solid var(--vscode-panel-border,#444);padding:6px 8px;font-size:12px}
  #pb-header[hidden],#pb-frame[hidden]{display:none}
  #pb-header table{border-collapse:collapse;width:100%}
  #pb-header td{padding:2px 6px 2px 0;vertical-align:top;word-break:break-all}
  #pb-header td.kw{white-space:nowrap;word-break:normal}
  #pb-phi-report{display:block;margin:4px 0 6px}
  #pb-phi-report[hidden]{display:none}
  #pb-header .masked{color:var(--vscode-descriptionForeground,#999);font-style:italic}
  #pb-canvas{position:absolute;inset:0;width:100%;height:100%;display:block;touch-action:none}
  #pb-message{position:absolute;inset:0;display:flex;align-items:center;justify-content:center;padding:24px;text-align:center;white-space:pre-wrap;color:#ddd}
  #pb-message.error{color:var(--vscode-errorForeground,#f88);font-size:1.1em}
  #pb-message[hidden]{display:none}
  #pb-help{position:absolute;right:8px;top:8px;background:var(--vscode-editorWidget-background,#252526);border:1px solid var(--vscode-panel-border,#444);padding:8px 12px;font-size:12px}
  #pb-help[hidden]{display:none}
  #pb-help td{padding:1px 8px 1px 0}
  #pb-status{padding:3px 8px;font-family:var(--vscode-editor-font-family,monospace);font-size:12px;border-top:1px solid var(--vscode-panel-border,#444);white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
  .pb-edit[hidden],#pb-preset[hidden]{display:none}
</style>
<div id="pb">
  <div id="pb-toolbar">
    <span id="pb-tools"></span>
    <span class="sep"></span>
    <vscode-single-select id="pb-class" class="pb-edit" title="Class for new points and boxes (changes the selected annotation's class)"></vscode-single-select>
    <vscode-single-select id="pb-preset" title="Window/level preset" hidden></vscode-single-select>
    <vscode-button id="pb-invert" secondary title="Invert (I)">Invert</vscode-button>
    <vscode-button id="pb-fit" secondary title="Fit to window (F)">Fit</vscode-button>
    <vscode-button id="pb-one" secondary title="One image pixel per screen pixel (1)">1:1</vscode-button>
    <vscode-button id="pb-reset" secondary title="Reset view and window (0)">Reset</vscode-button>
    <vscode-button id="pb-overlays" title="Show/hide overlays (O)">Overlays</vscode-button>
    <vscode-button id="pb-detector" secondary title="Detector layer: the selected detector's boxes on this image (T; PointBox: Select Detector)">Detector</vscode-button>
    <vscode-single-select id="pb-frame" title="Frame (PageUp / PageDown)" hidden></vscode-single-select>
    <vscode-button id="pb-header-toggle" secondary title="DICOM header (D)">Header</vscode-button>
    <span class="sep pb-edit"></span>
    <vscode-button id="pb-accept" class="pb-edit" secondary title="Accept the selected pending pseudo-box (A)">Accept</vscode-button>
    <vscode-button id="pb-reject" class="pb-edit" secondary title="Reject the selected pending pseudo-box (R)">Reject</vscode-button>
    <vscode-button id="pb-next" class="pb-edit" secondary title="Next pending pseudo-box in this image (N)">Next pending</vscode-button>
    <span class="sep pb-edit"></span>
    <vscode-button id="pb-prev-image" class="pb-edit" secondary title="Previous image of this group ([)">◀ Image</vscode-button>
    <vscode-button id="pb-next-image" class="pb-edit" secondary title="Next image of this group (])">Image ▶</vscode-button>
    <vscode-button id="pb-prev-pending-image" class="pb-edit" secondary title="Previous image with pending pseudo-boxes (Shift+P)">◀ Pending image</vscode-button>
    <vscode-button id="pb-next-pending-image" class="pb-edit" secondary title="Next image with pending pseudo-boxes (Shift+N)">Pending image ▶</vscode-button>
    <vscode-button id="pb-delete" class="pb-edit" secondary title="Delete the selected annotation (Delete)">Delete</vscode-button>
    <vscode-button id="pb-keys" secondary title="Keyboard shortcuts (?)">?</vscode-button>
  </div>
  <div id="pb-body">
    <div id="pb-stage">
      <canvas id="pb-canvas" data-state="loading" tabindex="0"></canvas>
      <div id="pb-message">Loading…</div>
      <div id="pb-help" hidden></div>
    </div>
    <div id="pb-header" hidden>
      <vscode-checkbox id="pb-phi" title="Show the values that identify the patient">Show PHI</vscode-checkbox>
      <a id="pb-phi-report" href="#" hidden title="Which identifying attributes the dataset's files carry, per file count (PointBox: PHI Report)">PHI report of this dataset…</a>
      <div id="pb-header-rows"></div>
    </div>
  </div>
  <div id="pb-status">&nbsp;</div>
</div>`;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const stage = $('pb-stage');
const canvas = $<HTMLCanvasElement>('pb-canvas');
const ctx = canvas.getContext('2d')!;
const message = $('pb-message');
const statusLine = $('pb-status');
const classSelect = $<HTMLElement & { value: string }>('pb-class');
const presetSelect = $<HTMLElement & { value: string }>('pb-preset');
const help = $('pb-help');
const frameSelect = $<HTMLElement & { value: string }>('pb-frame');
const headerPanel = $('pb-header');
const phiBox = $<HTMLElement & { checked: boolean }>('pb-phi');
help.innerHTML = `<b>Keys</b><table>${SHORTCUTS.map(([k, v]) => `<tr><td><code>${k}</code></td><td>${v}</td></tr>`).join('')}</table>`;

// ---- state ----
let fileName = '';
let dataset: ViewerDataset | null = null;
let decoder: Promise<DecodeClient> | undefined;
let image: DecodedImage | undefined;
/**
 * A big file's reduced first image from the host (protocol 4), shown scaled to the full size until `image`
 * (full resolution) is painted. Only looked at; tools and edits wait for the full image.
 */
let preview: { image: DecodedImage; fullWidth: number; fullHeight: number } | undefined;
let previewDirty = false;
let voi: ViewerVoi = { kind: 'window', center: 128, width: 256 };
let presets: VoiPreset[] = [];
let invert = false;
let view: ViewTransform = { scale: 1, tx: 0, ty: 0 };
/** While true the view follows the stage size (until the user zooms or pans). */
let fitMode = true;
let showOverlays = true;
/** The detector layer (issue 15): the selected detector's boxes, asked from the host when turned on. */
let showDetector = false;
let detections: ViewerDetections | undefined;
let detecting = false;
/** Boxes on a points-level image are hidden ground truth (kept for evaluating the point->box model): drawn faint, G hides them. */
let showHiddenGt = true;
let tool: Tool = 'select';
let categoryId: number | undefined;
let selected: { kind: 'annotation' | 'pseudo'; id: number } | undefined;
let cursor: Vec2 | undefined;
let spaceDown = false;
let displayDirty = true;
let renders = 0;
/** ms of the last W/L recompute (toDisplay8 + RGBA expansion + upload), for the status of big images and tests. */
let displayMs = 0;
/** The file's bytes, kept to decode another frame of a multi-frame file (each decode transfers a copy). */
let fileBytes: ArrayBuffer | undefined;
const display = document.createElement('canvas');

/** Milestones of this webview's first image (ms since the document started), for the first-paint bench: where the time goes. */
// 'page': when VS Code handed our HTML to the frame (a one-line inline script in its head, webviewHtml.ts);
// before it the time is VS Code's own webview start-up, about 1 s in code-server on this machine.
const pageStart = (globalThis as { pointboxPageStart?: number }).pointboxPageStart;
const marks: string[] = [...(pageStart !== undefined ? [`page ${pageStart.toFixed(0)}`] : []), `script ${performance.now().toFixed(0)}`];
const mark = (what: string) => { if (marks.length < 13) { marks.push(`${what} ${performance.now().toFixed(0)}`); canvas.dataset.timeline = marks.join(', '); } };

// ---- navigation and the decoded-image cache (issue 13) ----
/** The shown file's cache key (path|size|mtime, from the host). */
let currentKey = '';
let position: ViewerPosition | null = null;
/** A 'navigate' is on its way to the host: no second one, and no edits (they would race the rebinding). */
let navigating = false;
/** performance.now() of the navigation request being served, for the paint timing. */
let navT0: number | undefined;
/** A decoded image and, for multi-frame files, the bytes to decode its other frames from. */
interface CachedImage { image: DecodedImage; bytes?: ArrayBuffer }
const cacheBytes = (c: CachedImage) => c.image.data.byteLength + (c.bytes?.byteLength ?? 0);
let cache = new ByteBudgetCache<CachedImage>(0);
/** Prefetches being decoded (the worker decodes one at a time, in order). */
const decoding = new Map<string, Promise<CachedImage>>();

type Drag =
  | { kind: 'pan'; sx: number; sy: number; v0: ViewTransform }
  // range: the image's full value range, taken once per drag (fullRange scans every pixel).
  | { kind: 'wl'; sx: number; sy: number; w0: { center: number; width: number }; range: number }
  | { kind: 'newBox'; p0: Vec2; p1: Vec2 }
  | { kind: 'moveBox'; id: number; p0: Vec2; box0: Box; box: Box }
  | { kind: 'resize'; id: number; corner: Corner; box: Box }
  | { kind: 'movePoint'; id: number; p: Vec2; moved: boolean };
let drag: Drag | undefined;
/** An edit sent to the host, drawn until the host's next dataset update replaces it (no flicker back). */
let draft: { id: number; box?: Box; point?: Vec2 } | undefined;

// ---- toolbar ----
const toolButtons = new Map<Tool, HTMLElement>();
for (const t of TOOLS) {
  const b = document.createElement('vscode-button');
  b.textContent = t.label;
  b.title = t.title;
  b.id = `pb-tool-${t.id}`;
  if (t.id === 'point' || t.id === 'box') b.classList.add('pb-edit'); // editing tools: only for images in a dataset
  b.addEventListener('click', () => setTool(t.id));
  $('pb-tools').appendChild(b);
  toolButtons.set(t.id, b);
}
function setTool(t: Tool): void {
  if ((t === 'point' || t === 'box') && !dataset) t = 'select';
  tool = t;
  for (const [id, b] of toolButtons) b.toggleAttribute('secondary', id !== t);
  canvas.style.cursor = t === 'pan' ? 'grab' : t === 'select' ? 'default' : 'crosshair';
  canvas.dataset.tool = t;
}
setTool('select');

$('pb-invert').addEventListener('click', () => toggleInvert());
$('pb-fit').addEventListener('click', () => fit());
$('pb-one').addEventListener('click', () => { view = oneToOneTransform(view, stage.clientWidth, stage.clientHeight); fitMode = false; schedule(); });
$('pb-reset').addEventListener('click', () => reset());
$('pb-overlays').addEventListener('click', () => toggleOverlays());
$('pb-detector').addEventListener('click', () => toggleDetector());
$('pb-accept').addEventListener('click', () => review('accepted'));
$('pb-reject').addEventListener('click', () => review('rejected'));
$('pb-next').addEventListener('click', () => nextPending());
$('pb-delete').addEventListener('click', () => deleteSelected());
$('pb-prev-image').addEventListener('click', () => navigate('previous'));
$('pb-next-image').addEventListener('click', () => navigate('next'));
$('pb-next-pending-image').addEventListener('click', () => navigate('nextPending'));
$('pb-prev-pending-image').addEventListener('click', () => navigate('previousPending'));
$('pb-keys').addEventListener('click', () => { help.hidden = !help.hidden; });
$('pb-header-toggle').addEventListener('click', () => toggleHeader());
phiBox.addEventListener('change', () => renderHeader());
$('pb-phi-report').addEventListener('click', (e) => { e.preventDefault(); post({ type: 'phiReport' }); });
frameSelect.addEventListener('change', () => { const f = Number(frameSelect.value); if (Number.isInteger(f)) void showFrame(f); });
classSelect.addEventListener('change', () => {
  const id = Number(classSelect.value);
  if (!Number.isFinite(id)) return;
  categoryId = id;
  const a = selectedAnnotation();
  if (a && a.categoryId !== id) postEdit({ type: 'setCategory', annotationId: a.id, categoryId: id });
});
presetSelect.addEventListener('change', () => {
  const p = presets[Number(presetSelect.value)];
  if (p) setVoi(p.voi);
});

function fillSelect(sel: HTMLElement & { value: string }, options: { value: string; label: string }[], value: string | undefined): void {
  const key = JSON.stringify(options);
  if (sel.dataset.options !== key) {
    sel.replaceChildren(...options.map((o) => { const e = document.createElement('vscode-option') as HTMLElement & { value: string }; e.value = o.value; e.textContent = o.label; return e; }));
    sel.dataset.options = key;
  }
  if (value !== undefined && sel.value !== value) sel.value = value;
}

// ---- view ----
function fit(): void {
  if (!image) return;
  view = fitTransform(image.width, image.height, stage.clientWidth, stage.clientHeight);
  fitMode = true;
  schedule();
}

function reset(): void {
  if (!image) return;
  invert = false;
  setVoi(defaultVoi(image));
  fit();
}

function setVoi(v: ViewerVoi): void {
  voi = v;
  displayDirty = true;
  const i = presets.findIndex((p) => JSON.stringify(p.voi) === JSON.stringify(v));
  if (presets.length) presetSelect.value = i >= 0 ? String(i) : 'custom';
  schedule();
}

function toggleInvert(): void { invert = !invert; displayDirty = true; previewDirty = true; schedule(); }
function toggleOverlays(): void { showOverlays = !showOverlays; $('pb-overlays').toggleAttribute('secondary', !showOverlays); schedule(); }
function toggleDetector(): void {
  showDetector = !showDetector;
  $('pb-detector').toggleAttribute('secondary', !showDetector);
  // Asked again each time it is turned on: another detector may have been selected meanwhile.
  if (showDetector && !detecting) { detecting = true; post({ type: 'detect' }); }
  schedule();
}

let frameRequested = false;
function schedule(): void {
  if (frameRequested) return;
  frameRequested = true;
  requestAnimationFrame(() => { frameRequested = false; draw(); });
}

function resizeCanvas(): void {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(1, Math.round(stage.clientWidth * dpr));
  const h = Math.max(1, Math.round(stage.clientHeight * dpr));
  if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
  if (fitMode && image) view = fitTransform(image.width, image.height, stage.clientWidth, stage.clientHeight);
  else if (fitMode && preview) view = fitTransform(preview.fullWidth, preview.fullHeight, stage.clientWidth, stage.clientHeight);
}
new ResizeObserver(() => { resizeCanvas(); schedule(); }).observe(stage);

function draw(): void {
  resizeCanvas();
  const dpr = window.devicePixelRatio || 1;
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  if (image) {
    if (displayDirty) {
      const t0 = performance.now();
      renderDisplay(image, voi, invert, display);
      displayMs = performance.now() - t0;
      displayDirty = false;
      renders++;
    }
    ctx.setTransform(dpr * view.scale, 0, 0, dpr * view.scale, dpr * view.tx, dpr * view.ty);
    // Smooth when shrinking a 3k image into the view; show real pixels when zoomed in.
    ctx.imageSmoothingEnabled = view.scale < 1;
    ctx.drawImage(display, 0, 0);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    if (showOverlays) drawOverlays();
    if (showOverlays && showDetector) drawDetections();
  } else if (preview) {
    const p = preview;
    if (previewDirty) { renderDisplay(p.image, defaultVoi(p.image), invert, display); previewDirty = false; }
    ctx.setTransform(dpr * view.scale, 0, 0, dpr * view.scale, dpr * view.tx, dpr * view.ty);
    ctx.imageSmoothingEnabled = true;
    // Stretched over the full image's extent, so overlays (image coordinates) sit where they will stay.
    ctx.drawImage(display, 0, 0, p.image.width, p.image.height, 0, 0, p.fullWidth, p.fullHeight);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    if (showOverlays) drawOverlays();
  }
  // Observable state for the UI tests (and handy in devtools): the transform in CSS pixels of the canvas.
  Object.assign(canvas.dataset, { frame: String(image?.frameIndex ?? 0), displayMs: displayMs.toFixed(1), scale: String(view.scale), tx: String(view.tx), ty: String(view.ty), renders: String(renders),
    wl: voi.kind === 'window' ? `${voi.center},${voi.width}` : `lut${voi.index}`, overlays: String(showOverlays), selected: selected ? `${selected.kind}:${selected.id}` : '',
    annotations: String(dataset?.annotations.length ?? 0), reviews: (dataset?.pseudoBoxes ?? []).map((p) => `${p.id}:${p.review}`).join(' '),
    detector: !showDetector ? 'off' : detecting ? 'pending' : detections?.ok ? 'on' : 'failed', detectionsDrawn: String(shownDetections().length) });
  updateStatus();
}

// ---- overlays ----
const catName = (id: number) => dataset?.categories.find((c) => c.id === id)?.name ?? `class ${id}`;

function annotationsShown(): ViewerAnnotation[] {
  const list = dataset?.annotations ?? [];
  let out = list;
  if (draft) out = out.map((a) => (a.id === draft!.id ? { ...a, ...(draft!.box ? { bbox: draft!.box } : {}), ...(draft!.point ? { point: draft!.point } : {}) } : a));
  if (drag?.kind === 'moveBox' || drag?.kind === 'resize') { const d = drag; out = out.map((a) => (a.id === d.id ? { ...a, bbox: d.box } : a)); }
  if (drag?.kind === 'movePoint') { const d = drag; out = out.map((a) => (a.id === d.id ? { ...a, point: d.p } : a)); }
  return out;
}

const hiddenGt = () => dataset?.labelLevel === 'points';

const shownBox = (p: ViewerPseudoBox): Box => (p.review === 'edited' && p.editedBbox ? p.editedBbox : p.bbox);

function label(text: string, x: number, y: number, colour: string): void {
  ctx.font = '12px var(--vscode-font-family, sans-serif)';
  const w = ctx.measureText(text).width + 6;
  const ly = y - 16 < 0 ? y : y - 16;
  ctx.globalAlpha *= 0.85;
  ctx.fillStyle = '#000';
  ctx.fillRect(x, ly, w, 16);
  ctx.globalAlpha /= 0.85;
  ctx.fillStyle = colour;
  ctx.fillText(text, x + 3, ly + 12);
}

function drawOverlays(): void {
  if (!dataset) return;
  ctx.lineJoin = 'miter';
  for (const p of dataset.pseudoBoxes) {
    const st = PSEUDO_STYLES[p.review];
    const colour = st.colour ?? categoryColour(p.categoryId);
    const b = shownBox(p);
    const [x0, y0] = imageToScreen(view, b[0], b[1]);
    const isSel = selected?.kind === 'pseudo' && selected.id === p.id;
    ctx.save();
    ctx.globalAlpha = st.alpha;
    ctx.setLineDash(st.dash);
    ctx.lineWidth = isSel ? 3 : 1.5;
    ctx.strokeStyle = colour;
    ctx.strokeRect(x0, y0, b[2] * view.scale, b[3] * view.scale);
    ctx.setLineDash([]);
    label(`${st.mark} ${catName(p.categoryId)}${p.score !== undefined ? ` ${p.score.toFixed(2)}` : ''}`, x0, y0 + b[3] * view.scale + 16, colour);
    ctx.restore();
  }
  const anns = annotationsShown();
  const hidden = hiddenGt();
  for (const a of anns) {
    if (!a.bbox || (hidden && !showHiddenGt)) continue;
    const colour = categoryColour(a.categoryId);
    const [x0, y0] = imageToScreen(view, a.bbox[0], a.bbox[1]);
    const isSel = selected?.kind === 'annotation' && selected.id === a.id;
    ctx.save();
    if (hidden) { ctx.setLineDash([2, 3]); ctx.globalAlpha = isSel ? 1 : 0.75; }
    ctx.lineWidth = isSel ? 3 : hidden ? 1.5 : 2;
    ctx.strokeStyle = colour;
    ctx.strokeRect(x0, y0, a.bbox[2] * view.scale, a.bbox[3] * view.scale);
    ctx.setLineDash([]);
    label(hidden ? `${catName(a.categoryId)} · hidden GT` : catName(a.categoryId), x0, y0, colour);
    ctx.restore();
    if (isSel) {
      ctx.fillStyle = '#fff';
      for (const c of CORNERS) {
        const [cx, cy] = imageToScreen(view, ...cornerOf(a.bbox, c));
        ctx.fillRect(cx - 4, cy - 4, 8, 8);
        ctx.strokeRect(cx - 4, cy - 4, 8, 8);
      }
    }
  }
  for (const a of anns) {
    if (!a.point) continue;
    const colour = categoryColour(a.categoryId);
    const [x, y] = imageToScreen(view, a.point[0], a.point[1]);
    const isSel = selected?.kind === 'annotation' && selected.id === a.id;
    ctx.beginPath();
    ctx.arc(x, y, isSel ? 6 : 4.5, 0, 2 * Math.PI);
    ctx.fillStyle = colour;
    ctx.fill();
    ctx.lineWidth = isSel ? 2.5 : 1.5;
    ctx.strokeStyle = '#fff';
    ctx.stroke();
    // A click without a box carries its class name; one inside its box is named by the box's label.
    if (!a.bbox || (hidden && !showHiddenGt)) label(catName(a.categoryId), x + 8, y + 8, colour);
  }
  if (drag?.kind === 'newBox') {
    const b = boxFromCorners(drag.p0, drag.p1, image!.width, image!.height);
    const [x0, y0] = imageToScreen(view, b[0], b[1]);
    ctx.setLineDash([4, 2]);
    ctx.lineWidth = 1.5;
    ctx.strokeStyle = categoryId !== undefined ? categoryColour(categoryId) : '#fff';
    ctx.strokeRect(x0, y0, b[2] * view.scale, b[3] * view.scale);
    ctx.setLineDash([]);
  }
}

// ---- the detector layer ----
function shownDetections(): ViewerDetection[] {
  if (!showDetector || !showOverlays || !detections?.ok) return [];
  const min = detections.minScore;
  return detections.detections.filter((d) => d.score >= min);
}

/** Solid thin boxes, labelled with class and score inside the top-left corner; the class colour when the dataset has the class. */
function drawDetections(): void {
  for (const d of shownDetections()) {
    const cat = dataset?.categories.find((c) => c.name.toLowerCase() === d.className.toLowerCase());
    const colour = cat ? categoryColour(cat.id) : '#ffa500';
    const [x0, y0] = imageToScreen(view, d.bbox[0], d.bbox[1]);
    ctx.save();
    ctx.lineWidth = 1.5;
    ctx.strokeStyle = colour;
    ctx.setLineDash([]);
    ctx.strokeRect(x0, y0, d.bbox[2] * view.scale, d.bbox[3] * view.scale);
    label(`◆ ${d.className} ${d.score.toFixed(2)}`, x0 + 2, y0 + 18, colour);
    ctx.restore();
  }
}

// ---- status line ----
function storedAt(ix: number, iy: number): string | undefined {
  if (!image || ix < 0 || iy < 0 || ix >= image.width || iy >= image.height) return undefined;
  const i = (iy * image.width + ix) * image.samplesPerPixel;
  if (image.samplesPerPixel === 3) return `RGB ${image.data[i]},${image.data[i + 1]},${image.data[i + 2]}`;
  const sv = image.data[i]!;
  const m = image.modality;
  const isIdentity = m.kind === 'rescale' && m.slope === 1 && m.intercept === 0;
  return isIdentity ? `value ${sv}` : `value ${sv} (${fmt(applyModality(m, sv))}${m.type ? ` ${m.type}` : ''})`;
}

function updateStatus(): void {
  const parts: string[] = [];
  if (dataset) parts.push(`${dataset.datasetName} · ${dataset.split} · ${dataset.labelLevel}${hiddenGt() && !showHiddenGt ? ' (hidden GT off: G)' : ''}`);
  else parts.push('view only (in no open dataset)');
  parts.push(position ? `${fileName} (${position.index + 1}/${position.count} of ${position.group}${position.pending ? `; ${position.pending} image${position.pending === 1 ? '' : 's'} with pending pseudo-boxes` : ''})` : fileName);
  if (image) {
    parts.push(`${image.width}×${image.height}${image.frames > 1 ? ` frame ${image.frameIndex + 1}/${image.frames}` : ''}`);
    parts.push(voi.kind === 'window' ? `W ${fmt(voi.width)} L ${fmt(voi.center)}` : `VOI LUT ${voi.index + 1}`);
    if (invert) parts.push('inverted');
    parts.push(`zoom ${(view.scale * 100).toFixed(view.scale < 0.1 ? 1 : 0)}%`);
    if (cursor) {
      const ix = Math.floor(cursor[0]); const iy = Math.floor(cursor[1]);
      const v = storedAt(ix, iy);
      if (v !== undefined) parts.push(`x ${ix} y ${iy} ${v}`);
    }
  }
  if (selected) {
    const s = selected.kind === 'pseudo' ? dataset?.pseudoBoxes.find((p) => p.id === selected!.id) : undefined;
    parts.push(selected.kind === 'pseudo' ? `pseudo-box ${selected.id}${s ? ` (${s.review}, ${s.model})` : ''}` : `annotation ${selected.id}`);
  }
  if (showDetector) {
    parts.push(detecting ? 'detector: running…' : detections?.ok
      ? `detector ${detections.model}: ${shownDetections().length} box(es) ≥ ${detections.minScore} of ${detections.detections.length} (${detections.ms.toFixed(0)} ms, ${detections.provider})`
      : `detector: ${detections?.message ?? 'off'}`);
  }
  statusLine.textContent = parts.join('  |  ');
}

// ---- selection and edits ----
function selectedAnnotation(): ViewerAnnotation | undefined {
  return selected?.kind === 'annotation' ? dataset?.annotations.find((a) => a.id === selected!.id) : undefined;
}
function selectedPseudo(): ViewerPseudoBox | undefined {
  return selected?.kind === 'pseudo' ? dataset?.pseudoBoxes.find((p) => p.id === selected!.id) : undefined;
}

function select(s: typeof selected): void {
  selected = s;
  const a = selectedAnnotation();
  if (a) { categoryId = a.categoryId; classSelect.value = String(a.categoryId); }
  schedule();
}

function review(state: 'accepted' | 'rejected'): void {
  const p = selectedPseudo();
  if (!p || !dataset) return;
  postEdit({ type: 'setReview', pseudoBoxId: p.id, review: state });
}

function nextPending(): void {
  if (!dataset || !image) return;
  const ids = dataset.pseudoBoxes.filter((p) => p.review === 'pending').map((p) => p.id).sort((a, b) => a - b);
  const id = nextInCycle(ids, selected?.kind === 'pseudo' ? selected.id : undefined);
  // Nothing left to review here: the review walk goes on to the next image with pending pseudo-boxes.
  if (id === undefined) { navigate('nextPending'); return; }
  select({ kind: 'pseudo', id });
  const b = shownBox(dataset.pseudoBoxes.find((p) => p.id === id)!);
  const [sx, sy] = imageToScreen(view, b[0] + b[2] / 2, b[1] + b[3] / 2);
  // Pan only when the box is not already in view.
  if (sx < 0 || sy < 0 || sx > stage.clientWidth || sy > stage.clientHeight) { view = centreOn(view, b[0] + b[2] / 2, b[1] + b[3] / 2, stage.clientWidth, stage.clientHeight); fitMode = false; }
  schedule();
}

function deleteSelected(): void {
  const a = selectedAnnotation();
  if (!a) return;
  postEdit({ type: 'deleteAnnotation', annotationId: a.id });
  selected = undefined;
}

// ---- pointer input ----
function eventPos(e: MouseEvent): Vec2 {
  const r = canvas.getBoundingClientRect();
  return [e.clientX - r.left, e.clientY - r.top];
}

canvas.addEventListener('contextmenu', (e) => e.preventDefault());

canvas.addEventListener('pointerdown', (e) => {
  if (!image) return;
  canvas.focus();
  const [sx, sy] = eventPos(e);
  const p = screenToImage(view, sx, sy);
  const W = image.width; const H = image.height;
  if (e.button === 2 || (e.button === 0 && tool === 'wl')) {
    drag = { kind: 'wl', sx, sy, w0: windowOf(image, voi), range: fullRange(image).width };
  } else if (e.button === 1 || (e.button === 0 && (tool === 'pan' || spaceDown))) {
    drag = { kind: 'pan', sx, sy, v0: view };
    canvas.style.cursor = 'grabbing';
  } else if (e.button === 0 && dataset && tool === 'point' && categoryId !== undefined) {
    postEdit({ type: 'addPoint', categoryId, point: clampPoint(p, W, H) });
    return;
  } else if (e.button === 0 && dataset && tool === 'box' && categoryId !== undefined) {
    drag = { kind: 'newBox', p0: clampPoint(p, W, H), p1: clampPoint(p, W, H) };
  } else if (e.button === 0 && tool === 'select') {
    const anns = dataset?.annotations ?? [];
    const hit = showOverlays ? hitTest({
      boxes: anns.filter((a) => a.bbox && (showHiddenGt || !hiddenGt())).map((a) => ({ id: a.id, box: a.bbox! })),
      points: anns.filter((a) => a.point).map((a) => ({ id: a.id, point: a.point! })),
      pseudo: (dataset?.pseudoBoxes ?? []).map((b) => ({ id: b.id, box: shownBox(b) })),
      selectedBoxId: selected?.kind === 'annotation' ? selected.id : undefined,
    }, p[0], p[1], view.scale) : undefined;
    if (!hit) { select(undefined); return; }
    if (hit.kind === 'pseudo') { select({ kind: 'pseudo', id: hit.id }); return; }
    select({ kind: 'annotation', id: hit.id });
    const a = anns.find((x) => x.id === hit.id)!;
    if (hit.kind === 'handle' && a.bbox) drag = { kind: 'resize', id: a.id, corner: hit.corner, box: a.bbox };
    else if (hit.kind === 'point' && a.point) drag = { kind: 'movePoint', id: a.id, p: a.point, moved: false };
    else if (hit.kind === 'box' && a.bbox) drag = { kind: 'moveBox', id: a.id, p0: p, box0: a.bbox, box: a.bbox };
  }
  if (drag) canvas.setPointerCapture(e.pointerId);
});

canvas.addEventListener('pointermove', (e) => {
  if (!image) return;
  const [sx, sy] = eventPos(e);
  const p = screenToImage(view, sx, sy);
  cursor = p;
  // Hovering only moves the cursor readout: the status line, not a canvas redraw (overlays ignore the cursor).
  if (!drag) { updateStatus(); return; }
  const W = image.width; const H = image.height;
  if (drag.kind === 'pan') { view = panBy(drag.v0, sx - drag.sx, sy - drag.sy); fitMode = false; }
  else if (drag?.kind === 'wl') {
    const w = windowLevelDrag(drag.w0, sx - drag.sx, sy - drag.sy, drag.range);
    voi = { kind: 'window', center: w.center, width: w.width };
    displayDirty = true;
  } else if (drag?.kind === 'newBox') drag.p1 = clampPoint(p, W, H);
  else if (drag?.kind === 'moveBox') drag.box = moveBox(drag.box0, p[0] - drag.p0[0], p[1] - drag.p0[1], W, H);
  else if (drag?.kind === 'resize') drag.box = resizeBox(drag.box, drag.corner, p, W, H);
  else if (drag?.kind === 'movePoint') { drag.p = clampPoint(p, W, H); drag.moved = true; }
  schedule();
});

function endDrag(e: PointerEvent): void {
  const d = drag;
  drag = undefined;
  if (canvas.hasPointerCapture(e.pointerId)) canvas.releasePointerCapture(e.pointerId);
  setTool(tool);
  if (!d || !image) return;
  if (d.kind === 'wl') setVoi(voi); // syncs the preset picker
  else if (d.kind === 'newBox' && categoryId !== undefined) {
    const b = boxFromCorners(d.p0, d.p1, image.width, image.height);
    // A click (or a tiny drag) with the box tool is not a box.
    if (b[2] * view.scale >= 3 && b[3] * view.scale >= 3 && b[2] >= 1 && b[3] >= 1) postEdit({ type: 'addBox', categoryId, bbox: b });
  } else if ((d.kind === 'moveBox' || d.kind === 'resize')) {
    const a = dataset?.annotations.find((x) => x.id === d.id);
    if (a?.bbox && d.box.some((v, i) => v !== a.bbox![i])) { draft = { id: d.id, box: d.box }; postEdit({ type: 'setBox', annotationId: d.id, bbox: d.box }); }
  } else if (d.kind === 'movePoint' && d.moved) {
    draft = { id: d.id, point: d.p };
    postEdit({ type: 'movePoint', annotationId: d.id, point: d.p });
  }
  schedule();
}
canvas.addEventListener('pointerup', endDrag);
canvas.addEventListener('pointercancel', endDrag);
canvas.addEventListener('pointerleave', () => { if (!drag) { cursor = undefined; updateStatus(); } });

canvas.addEventListener('wheel', (e) => {
  if (!image) return;
  e.preventDefault();
  const [sx, sy] = eventPos(e);
  const dy = e.deltaMode === 1 ? e.deltaY * 33 : e.deltaMode === 2 ? e.deltaY * 400 : e.deltaY;
  view = zoomAround(view, sx, sy, wheelZoomFactor(dy));
  fitMode = false;
  schedule();
}, { passive: false });

// ---- keys ----
window.addEventListener('keydown', (e) => {
  const t = e.target as HTMLElement | null;
  if (t && t !== canvas && t !== document.body && /^(VSCODE-SINGLE-SELECT|VSCODE-OPTION|INPUT|TEXTAREA)$/.test(t.tagName)) return;
  const k = e.key;
  if ((e.ctrlKey || e.metaKey) && (k === 'z' || k === 'Z' || k === 'y')) {
    if (!dataset) return;
    post({ type: (k === 'y' || e.shiftKey) ? 'redo' : 'undo' });
    e.preventDefault();
    return;
  }
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  let handled = true;
  if (k === ' ') { spaceDown = true; canvas.style.cursor = 'grab'; }
  else if (k === 'o' || k === 'O') toggleOverlays();
  else if (k === 't' || k === 'T') toggleDetector();
  else if (k === 'g' || k === 'G') { showHiddenGt = !showHiddenGt; schedule(); }
  else if (k === 'i' || k === 'I') toggleInvert();
  else if (k === 'f' || k === 'F') fit();
  else if (k === '1') { view = oneToOneTransform(view, stage.clientWidth, stage.clientHeight); fitMode = false; schedule(); }
  else if (k === '0') reset();
  else if (k === 'a' || k === 'A') review('accepted');
  else if (k === 'r' || k === 'R') review('rejected');
  else if (k === 'N' && e.shiftKey) navigate('nextPending');
  // Shift+P, not P (the point tool): back along the review walk.
  else if (k === 'P' && e.shiftKey) navigate('previousPending');
  else if (k === 'n' || k === 'N') nextPending();
  else if (k === ']') navigate('next');
  else if (k === '[') navigate('previous');
  else if (k === 'Delete' || k === 'Backspace') deleteSelected();
  else if (k === 'Escape') { select(undefined); help.hidden = true; }
  else if (k === '?') help.hidden = !help.hidden;
  else if (k === 'd' || k === 'D') toggleHeader();
  else if ((k === 'PageDown' || k === 'PageUp') && image && image.frames > 1) void showFrame(Math.min(image.frames - 1, Math.max(0, image.frameIndex + (k === 'PageDown' ? 1 : -1))));
  else {
    const t2 = TOOLS.find((x) => x.key === k.toLowerCase());
    if (t2) setTool(t2.id); else handled = false;
  }
  if (handled) e.preventDefault();
});
window.addEventListener('keyup', (e) => { if (e.key === ' ') { spaceDown = false; setTool(tool); } });

// ---- dataset ----
function setDataset(d: ViewerDataset | null): void {
  dataset = d;
  draft = undefined;
  for (const el of document.querySelectorAll<HTMLElement>('.pb-edit')) el.hidden = !d;
  if (d) {
    if (categoryId === undefined || !d.categories.some((c) => c.id === categoryId)) categoryId = d.categories[0]?.id;
    fillSelect(classSelect, d.categories.map((c) => ({ value: String(c.id), label: c.name })), categoryId !== undefined ? String(categoryId) : undefined);
    if (selected && !(selected.kind === 'annotation' ? d.annotations : d.pseudoBoxes).some((x) => x.id === selected!.id)) selected = undefined;
  } else {
    selected = undefined;
    setTool(tool);
  }
  schedule();
}

// ---- header panel ----
function toggleHeader(): void {
  headerPanel.hidden = !headerPanel.hidden;
  $('pb-header-toggle').toggleAttribute('secondary', headerPanel.hidden);
  renderHeader();
}

function renderHeader(): void {
  if (headerPanel.hidden) return;
  const host = $('pb-header-rows');
  const header = image?.header;
  const n = phiCount(header);
  phiBox.hidden = n === 0;
  phiBox.textContent = `Show PHI (${n} value${n === 1 ? '' : 's'})`;
  $('pb-phi-report').hidden = !dataset;
  if (!header?.length) { host.textContent = image ? `${image.source.toUpperCase()} file: no DICOM header.` : ''; return; }
  const table = document.createElement('table');
  for (const r of headerRows(header, phiBox.checked)) {
    const tr = table.insertRow();
    const kw = tr.insertCell(); kw.className = 'kw'; kw.textContent = r.keyword; kw.title = r.tag;
    const v = tr.insertCell(); v.textContent = r.value; if (r.masked) v.className = 'masked';
  }
  if (image?.warnings.length) { const w = table.insertRow().insertCell(); w.colSpan = 2; w.textContent = `⚠ ${image.warnings.join('; ')}`; }
  host.replaceChildren(table);
}

// ---- frames ----
async function showFrame(frame: number): Promise<void> {
  if (!image || !fileBytes || !decoder || frame === image.frameIndex) return;
  try {
    const next = await (await decoder).decode(fileBytes.slice(0), fileName, frame);
    image = next;
    displayDirty = true;
    frameSelect.value = String(frame);
    schedule();
  } catch (e) {
    statusLine.textContent = `Cannot decode frame ${frame + 1}: ${(e as { message?: string }).message ?? String(e)}`;
  }
}

// ---- image ----
function showError(text: string): void {
  message.hidden = false;
  message.className = 'error';
  message.textContent = text;
  canvas.dataset.state = 'error';
}

function decodeFailureText(e: unknown): { code: string; reason: string } {
  const f = e as Partial<DecodeFailure> & { message?: string };
  const raw = f?.message ?? String(e);
  // Core errors already start with the file name; say it once.
  return { code: f?.code ?? 'UNKNOWN', reason: raw.startsWith(`${fileName}: `) ? raw.slice(fileName.length + 2) : raw };
}

async function decodeEntry(bytes: ArrayBuffer, name: string): Promise<CachedImage> {
  if (!decoder) throw { code: 'WORKER_FAILED', message: 'the decode worker was not started' } satisfies DecodeFailure;
  const client = await decoder;
  // The worker takes a copy only when the file has more frames to decode later (transfer otherwise).
  const decoded = await client.decode(bytes.slice(0), name);
  return { image: decoded, bytes: decoded.frames > 1 ? bytes : undefined };
}

/** The shown file's bytes arrived: decode and show them (unless the viewer has moved on meanwhile). */
async function openImage(bytes: ArrayBuffer, key: string): Promise<void> {
  if (key !== currentKey) return;
  mark(`bytes(${(bytes.byteLength / 2 ** 20).toFixed(1)}MB)`);
  const t0 = navT0 ?? performance.now();
  let entry: CachedImage;
  try {
    entry = await decodeEntry(bytes, fileName);
  } catch (e) {
    if (key !== currentKey) return;
    const { code, reason } = decodeFailureText(e);
    showError(`Cannot display ${fileName}: ${reason}`);
    post({ type: 'decodeFailed', code, message: reason });
    return;
  }
  if (key !== currentKey) { cache.set(key, entry, cacheBytes(entry)); return; }
  mark(`decoded(${entry.image.decodeMs.toFixed(0)})`);
  present(entry, key, t0, false);
  mark('painted');
}

/** A big file's reduced first image: on screen at once, fitted as the full image will be; replaced by present(). */
function showPreview(m: Extract<HostToViewer, { type: 'preview' }>): void {
  if (m.key !== currentKey || image) return; // another file by now, or the full image won the race
  preview = { image: m.image, fullWidth: m.fullWidth, fullHeight: m.fullHeight };
  previewDirty = true;
  message.hidden = true;
  fitMode = true;
  draw();
  canvas.dataset.state = 'preview';
  Object.assign(canvas.dataset, {
    file: fileName, previewWidth: String(m.image.width), previewHeight: String(m.image.height), previewFactor: String(m.factor),
    previewAt: (performance.timeOrigin + performance.now()).toFixed(1),
  });
  mark(`preview(1/${m.factor})`);
}

/** A likely next image: decoded now, kept in the cache until it is asked for or evicted. */
function prefetchImage(bytes: ArrayBuffer, key: string, name: string): void {
  if (cache.has(key) || decoding.has(key) || cache.budgetBytes <= 0) return;
  const p = decodeEntry(bytes, name);
  decoding.set(key, p);
  p.then((entry) => {
    decoding.delete(key);
    if (key === currentKey && !image) present(entry, key, navT0 ?? performance.now(), true); // asked for while it was decoding
    else cache.set(key, entry, cacheBytes(entry));
    updateCacheState();
  }, () => { decoding.delete(key); if (key === currentKey && !image) post({ type: 'needImage', key }); });
}

function updateCacheState(): void {
  Object.assign(canvas.dataset, { cacheEntries: String(cache.size), cacheMb: (cache.bytes / 2 ** 20).toFixed(1), cacheKeys: cache.keys().map((k) => k.split('|')[0]!.split('/').pop()).join(' ') });
}

/** Puts a decoded image on screen: default window, fit, the header; reports the paint. */
function present(entry: CachedImage, key: string, t0: number, fromCache: boolean): void {
  image = entry.image;
  preview = undefined;
  fileBytes = entry.bytes;
  cache.set(key, entry, cacheBytes(entry)); // counted against the budget, never evicted while shown
  cache.pin([key]);
  presets = voiPresets(image);
  fillSelect(presetSelect, [...presets.map((p, i) => ({ value: String(i), label: p.label })), { value: 'custom', label: 'Custom (drag)' }], undefined);
  presetSelect.hidden = presets.length === 0;
  if (image.frames > 1) {
    fillSelect(frameSelect, Array.from({ length: image.frames }, (_, i) => ({ value: String(i), label: `Frame ${i + 1} / ${image!.frames}` })), String(image.frameIndex));
    frameSelect.hidden = false;
  } else frameSelect.hidden = true;
  renderHeader();
  voi = defaultVoi(image);
  setVoi(voi);
  message.hidden = true;
  fit();
  draw();
  const ms = performance.now() - t0;
  navT0 = undefined;
  canvas.dataset.state = 'ready';
  Object.assign(canvas.dataset, {
    imageWidth: String(image.width), imageHeight: String(image.height), file: fileName, fromCache: String(fromCache), paintMs: ms.toFixed(1),
    // Wall-clock time of this paint (ms since the epoch), so a test or bench outside the page can time "request to pixels".
    paintedAt: (performance.timeOrigin + performance.now()).toFixed(1),
  });
  updateCacheState();
  post({ type: 'rendered', width: image.width, height: image.height, decodeMs: fromCache ? 0 : image.decodeMs, totalMs: ms, key, fromCache });
}

function navigate(direction: ViewerNavigation): void {
  if (navigating || !dataset) return;
  navigating = true;
  navT0 = performance.now();
  canvas.dataset.navigating = direction;
  post({ type: 'navigate', direction, cached: [...cache.keys(), ...decoding.keys()] });
}

function onNavigated(m: Extract<HostToViewer, { type: 'navigated' }>): void {
  // A move the host started (a Datasets tree click) is timed from its arrival, not from an older key press.
  if (!navigating) navT0 = performance.now();
  navigating = false;
  delete canvas.dataset.navigating;
  delete canvas.dataset.navigateFailed;
  fileName = m.fileName;
  document.title = m.fileName;
  currentKey = m.key;
  position = m.position;
  selected = undefined;
  drag = undefined;
  // The detector layer's boxes were the old image's: ask again for this one.
  detections = undefined;
  if (showDetector) { detecting = true; post({ type: 'detect' }); }
  const hit = cache.get(m.key);
  if (hit) {
    dataset = m.dataset; // overlays of the new image drawn with its own pixels, in the same frame
    present(hit, m.key, navT0 ?? performance.now(), true);
    setDataset(m.dataset);
    return;
  }
  // Not decoded yet: nothing of the old image stays on screen (an edit there would land on the new one).
  image = undefined;
  preview = undefined;
  fileBytes = undefined;
  canvas.dataset.state = 'loading';
  message.hidden = false;
  message.className = '';
  message.textContent = `Loading ${fileName}…`;
  setDataset(m.dataset);
  if (m.cached && !decoding.has(m.key)) post({ type: 'needImage', key: m.key }); // evicted since we said we had it
}

window.addEventListener('message', (ev: MessageEvent<HostToViewer>) => {
  const m = ev.data;
  switch (m.type) {
    case 'init':
      if (m.protocol !== PROTOCOL_VERSION) { showError(`PointBox: viewer protocol ${PROTOCOL_VERSION} but the host sent ${m.protocol}; reload the window.`); return; }
      fileName = m.fileName;
      currentKey = m.key;
      position = m.position;
      cache = new ByteBudgetCache<CachedImage>(m.cacheBudgetBytes);
      message.textContent = `Loading ${fileName}…`;
      mark('init');
      setDataset(m.dataset);
      return;
    case 'image': void openImage(m.bytes, m.key); return;
    case 'imageUrl':
      mark('url');
      // A failed fetch (file gone, a resource root VS Code refused) asks for the bytes by message instead.
      void fetch(m.url).then((r) => { if (!r.ok) throw new Error(`HTTP ${r.status}`); return r.arrayBuffer(); })
        .then((b) => openImage(b, m.key), () => { if (m.key === currentKey) post({ type: 'needImage', key: m.key, asBytes: true }); });
      return;
    case 'preview': showPreview(m); return;
    case 'prefetch': prefetchImage(m.bytes, m.key, m.fileName); return;
    case 'navigated': onNavigated(m); return;
    case 'navigateFailed':
      navigating = false; navT0 = undefined;
      delete canvas.dataset.navigating;
      canvas.dataset.navigateFailed = m.message;
      statusLine.textContent = `${m.message}  |  ${statusLine.textContent}`;
      return;
    case 'readFailed': showError(`Cannot read ${fileName}: ${m.message}`); return;
    case 'dataset': setDataset(m.dataset); return;
    case 'editFailed': statusLine.textContent = `Edit refused: ${m.message}`; return;
    case 'detections': detecting = false; detections = m.result; schedule(); return;
  }
});
// The decode worker starts now, while the host answers 'ready' (fetching its script takes a few hundred ms in a
// browser window): the host puts its URLs on #root.
{
  const rootData = document.getElementById('root')?.dataset;
  decoder = rootData?.workerUrl && rootData.wasmBaseUrl
    ? DecodeClient.start(rootData.workerUrl, rootData.wasmBaseUrl)
    : Promise.reject(new Error('the viewer page has no decode worker URL (#root data-worker-url)'));
  decoder.then(() => mark('worker'), () => undefined); // a failure is reported by openImage
}
post({ type: 'ready' });
