/**
 * The webview's decode web worker (built to dist/webview/decodeWorker.js). It runs the same imaging core
 * as the extension host, so a file the viewer opens directly is decoded to the same pixels. Pixels go back
 * to the page as transferred ArrayBuffers.
 *
 * Messages in:  { type: 'init', wasmBaseUrl }            (webview URI of dist/wasm/)
 *               { type: 'decode', id, bytes: ArrayBuffer, fileName?, frame?, display?: boolean | DisplayOptions }
 * Messages out: { type: 'ready' }
 *               { type: 'decoded', id, image, display? }  (image.data / display transferred)
 *               { type: 'error', id, error: { code, message, file } }
 */
import { decodeImage } from '../../src/core/imaging/decodeImage';
import { toDisplay8, type DisplayOptions } from '../../src/core/imaging/greyPipeline';
import { imagingErrorToData, ImagingError } from '../../src/core/imaging/ImagingError';
import { createBrowserImagingPlatform } from '../../src/core/imaging/browserImagingPlatform';
import type { ImagingPlatform } from '../../src/core/imaging/ImagingPlatform';

type InMessage =
  | { type: 'init'; wasmBaseUrl: string }
  | { type: 'decode'; id: number; bytes: ArrayBuffer; fileName?: string; frame?: number; display?: boolean | DisplayOptions };

interface WorkerScope {
  onmessage: ((ev: { data: InMessage }) => void) | null;
  postMessage(msg: unknown, transfer?: ArrayBuffer[]): void;
}
const scope = self as unknown as WorkerScope;
let platform: ImagingPlatform | undefined;

scope.onmessage = async (ev) => {
  const msg = ev.data;
  if (msg.type === 'init') {
    platform = createBrowserImagingPlatform(msg.wasmBaseUrl);
    scope.postMessage({ type: 'ready' });
    return;
  }
  if (msg.type !== 'decode') return;
  try {
    if (!platform) throw new ImagingError('WORKER_FAILED', 'decode worker used before init', msg.fileName);
    const image = await decodeImage(new Uint8Array(msg.bytes), platform, { fileName: msg.fileName, frame: msg.frame, ownsInput: true });
    const display = msg.display ? toDisplay8(image, msg.display === true ? {} : msg.display) : undefined;
    const transfer = [image.data.buffer as ArrayBuffer];
    if (display && display.buffer !== image.data.buffer) transfer.push(display.buffer as ArrayBuffer);
    scope.postMessage({ type: 'decoded', id: msg.id, image, display }, transfer);
  } catch (e) {
    scope.postMessage({ type: 'error', id: msg.id, error: imagingErrorToData(e, msg.fileName) });
  }
};
