/**
 * A loaded detector (detectorContract.ts): an onnxruntime-node session on the best execution provider, its
 * checked contract, and `detectFile()`: read + decode + letterbox one image the way the trainer does
 * (modelInput.ts), run, post-process (detectorPostprocess.ts), boxes mapped back to source pixels.
 * DetectorModelWorker runs the same in a worker thread for the extension host.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import { boxFromModel, type XYXY } from '../../shared/geometry';
import { decodeImage } from '../imaging/decodeImage';
import { nodeImagingPlatform } from '../imaging/nodeImagingPlatform';
import { readImageFile } from '../imaging/readImageFile';
import { InferenceError } from './InferenceError';
import { checkDetectorContract, type DetectorModelInfo } from './detectorContract';
import { postprocessDetections, type RawDetection } from './detectorPostprocess';
import { providerFixHint, providerPlan, type DevicePreference } from './executionProviders';
import { prepareModelImage } from './modelInput';
import type { TensorInfo } from './modelContract';
import { readOnnxMetadata } from './readOnnxMetadata';
import type { LoadOptions } from './PointBoxModel';

ort.env.logLevel = 'fatal';

export interface Detection {
  /** Corner form, source pixels, clamped to the image. */
  box: XYXY;
  score: number;
  classIndex: number;
  className: string;
}

export interface FileDetections {
  width: number;
  height: number;
  detections: Detection[];
  ms: { decode: number; infer: number; post: number };
}

/** What the detection pipeline and the viewer need from a detector, in this thread or in a worker. */
export interface ImageDetector {
  readonly info: DetectorModelInfo;
  readonly executionProvider: DevicePreference;
  readonly skipped: { ep: DevicePreference; reason: string }[];
  detectFile(file: string): Promise<FileDetections>;
  dispose(): Promise<void>;
}

export class DetectorModel implements ImageDetector {
  private constructor(
    readonly info: DetectorModelInfo,
    readonly executionProvider: DevicePreference,
    readonly skipped: { ep: DevicePreference; reason: string }[],
    private readonly session: ort.InferenceSession,
  ) {}

  static async load(file: string, opts: LoadOptions = {}): Promise<DetectorModel> {
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (e) {
      throw new InferenceError('model-unreadable', `${file}: cannot read model (${(e as Error).message})`, file);
    }
    const facts = readOnnxMetadata(bytes, file);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const pref = opts.device ?? 'auto';
    const skipped: { ep: DevicePreference; reason: string }[] = [];
    for (const ep of providerPlan(pref)) {
      let session: ort.InferenceSession;
      try {
        session = await ort.InferenceSession.create(bytes, {
          executionProviders: [ep], graphOptimizationLevel: 'all',
          ...(opts.threads ? { intraOpNumThreads: opts.threads, interOpNumThreads: 1 } : {}),
        });
      } catch (e) {
        const reason = (e as Error).message.split('\n').find((l) => l.trim())?.trim().slice(0, 300) ?? String(e);
        skipped.push({ ep, reason });
        opts.onProviderAttempt?.(ep, reason);
        if (pref !== 'auto') throw new InferenceError('provider-unavailable', `${basename(file)}: execution provider '${ep}' cannot load: ${reason}\nFix: ${providerFixHint(ep)}`, file);
        continue;
      }
      opts.onProviderAttempt?.(ep);
      try {
        const info = checkDetectorContract(file, sha256, facts, session.inputMetadata as readonly TensorInfo[], session.outputMetadata as readonly TensorInfo[]);
        return new DetectorModel(info, ep, skipped, session);
      } catch (e) {
        await session.release();
        throw e;
      }
    }
    throw new InferenceError('provider-unavailable', `${basename(file)}: no execution provider could load the model: ${skipped.map((s) => `${s.ep}: ${s.reason}`).join('; ')}`, file);
  }

  /** Dense outputs of a batch of prepared inputs ([B*S*S] normalized), post-processed per image (model coordinates). */
  async run(image: Float32Array, batch: number): Promise<RawDetection[][]> {
    const S = this.info.inputSize;
    if (image.length !== batch * S * S) throw new RangeError(`DetectorModel.run: ${image.length} values do not fit B=${batch}, S=${S}`);
    const out = await this.session.run({ image: new ort.Tensor('float32', image, [batch, 1, S, S]) });
    const boxes = out.boxes!.data as Float32Array;
    const scores = out.scores!.data as Float32Array;
    const A = this.info.anchors;
    const C = this.info.classes.length;
    const res: RawDetection[][] = [];
    for (let b = 0; b < batch; b++) {
      res.push(postprocessDetections(boxes.subarray(b * A * 4, (b + 1) * A * 4), scores.subarray(b * A * C, (b + 1) * A * C), C, this.info.postprocess));
    }
    return res;
  }

  /** Raw dense outputs (the parity test compares them with PyTorch's). */
  async runDense(image: Float32Array, batch: number): Promise<{ boxes: Float32Array; scores: Float32Array }> {
    const S = this.info.inputSize;
    const out = await this.session.run({ image: new ort.Tensor('float32', image, [batch, 1, S, S]) });
    return { boxes: out.boxes!.data as Float32Array, scores: out.scores!.data as Float32Array };
  }

  async detectFile(file: string): Promise<FileDetections> {
    const t0 = performance.now();
    const { bytes, wordOr } = readImageFile(file);
    const img = await decodeImage(bytes, nodeImagingPlatform, { fileName: basename(file), ownsInput: true, wordOr, noHeader: true });
    const m = prepareModelImage(img, this.info.inputSize, this.info.normalization);
    const t1 = performance.now();
    const S = this.info.inputSize;
    const out = await this.session.run({ image: new ort.Tensor('float32', m.data, [1, 1, S, S]) });
    const t2 = performance.now();
    const raw = postprocessDetections(out.boxes!.data as Float32Array, out.scores!.data as Float32Array, this.info.classes.length, this.info.postprocess);
    const detections = raw.map((d) => ({ box: boxFromModel(m.lb, d.box), score: d.score, classIndex: d.classIndex, className: this.info.classes[d.classIndex] ?? String(d.classIndex) }))
      // A box wholly in the letterbox padding maps to zero size once clamped to the image: not a detection.
      .filter((d) => d.box[2] > d.box[0] && d.box[3] > d.box[1]);
    return { width: img.width, height: img.height, detections, ms: { decode: t1 - t0, infer: t2 - t1, post: performance.now() - t2 } };
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
