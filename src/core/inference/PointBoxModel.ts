/**
 * A loaded point->box model: an onnxruntime-node session on the best available execution provider, its
 * checked contract, and a typed `run()` for one batch. The only place that touches onnxruntime.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import * as ort from 'onnxruntime-node';
import { InferenceError } from './InferenceError';
import { pipelineDefaults } from './pipelineDefaults';
import { readOnnxMetadata } from './readOnnxMetadata';
import { checkModelContract, type PointBoxModelInfo, type TensorInfo } from './modelContract';
import { providerFixHint, providerPlan, type DevicePreference } from './executionProviders';
import type { ModelBatch, ModelOutput, PointToBoxModel } from './PointToBoxModel';

// onnxruntime prints a red error line to stderr for every provider it cannot load (e.g. CUDA libraries
// absent), which `auto` tries on purpose. Failures still reach us as exceptions, which we report with a
// reason and a fix, so its own logger only speaks for fatal errors.
ort.env.logLevel = 'fatal';

export interface LoadOptions {
  device?: DevicePreference;
  /**
   * onnxruntime intra-op threads; 0 or undefined: the pseudo-label pipeline's choice (pipelineDefaults: half
   * the cores where the decoders run at lower priority, else every core), since every use of the model in
   * PointBox runs beside the decoders.
   */
  threads?: number;
  /**
   * Let onnxruntime's intra-op threads spin-wait between kernels (its default). A pipeline that decodes on the
   * same cores turns it off: a spinning thread holds a core that a decoder could use, for nothing. Default: off.
   */
  spinning?: boolean;
  /** Called once per provider tried, e.g. to log "cuda: not available (...), trying webgpu". */
  onProviderAttempt?: (ep: DevicePreference, error?: string) => void;
}

export type { ModelBatch, ModelOutput } from './PointToBoxModel';

export class PointBoxModel implements PointToBoxModel {
  readonly kind = 'onnx' as const;

  private constructor(
    readonly info: PointBoxModelInfo,
    /** The execution provider that loaded (cpu, cuda, webgpu, dml, coreml). */
    readonly executionProvider: DevicePreference,
    /** Why each better provider was skipped (for the output channel). */
    readonly skipped: { ep: DevicePreference; reason: string }[],
    private readonly session: ort.InferenceSession,
  ) {}

  static async load(file: string, opts: LoadOptions = {}): Promise<PointBoxModel> {
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
          executionProviders: [ep],
          graphOptimizationLevel: 'all',
          intraOpNumThreads: opts.threads || pipelineDefaults().threads, interOpNumThreads: 1,
          ...(opts.spinning !== true ? { extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } } : {}),
        });
      } catch (e) {
        const reason = firstLine((e as Error).message);
        skipped.push({ ep, reason });
        opts.onProviderAttempt?.(ep, reason);
        if (pref !== 'auto') {
          throw new InferenceError('provider-unavailable', `${basename(file)}: execution provider '${ep}' cannot load: ${reason}\nFix: ${providerFixHint(ep)}`, file);
        }
        continue;
      }
      opts.onProviderAttempt?.(ep);
      try {
        const info = checkModelContract(file, sha256, facts, session.inputMetadata as readonly TensorInfo[], session.outputMetadata as readonly TensorInfo[]);
        return new PointBoxModel(info, ep, skipped, session);
      } catch (e) {
        await session.release();
        throw e;
      }
    }
    throw new InferenceError('provider-unavailable', `${basename(file)}: no execution provider could load the model: ${skipped.map((s) => `${s.ep}: ${s.reason}`).join('; ')}`, file);
  }

  async run(b: ModelBatch): Promise<ModelOutput> {
    const S = this.info.inputSize;
    const { batch: B, points: N } = b;
    if (b.image.length !== B * S * S || b.pointsXY.length !== B * N * 2 || b.labels.length !== B * N || b.mask.length !== B * N) {
      throw new RangeError(`PointBoxModel.run: batch arrays do not match B=${B}, N=${N}, S=${S}`);
    }
    const mask = this.info.pointMaskType === 'bool'
      ? new ort.Tensor('bool', b.mask, [B, N])
      : new ort.Tensor('float32', Float32Array.from(b.mask), [B, N]);
    const out = await this.session.run({
      image: new ort.Tensor('float32', b.image, [B, 1, S, S]),
      points: new ort.Tensor('float32', b.pointsXY, [B, N, 2]),
      labels: new ort.Tensor('int64', b.labels, [B, N]),
      point_mask: mask,
    });
    return { boxes: out.boxes!.data as Float32Array, scores: out.scores!.data as Float32Array };
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

function firstLine(s: string): string {
  // onnxruntime prefixes its messages with source paths and assertion text; keep the human part.
  const failed = /(Failed[^\n]*)/.exec(s)?.[1];
  return (failed ?? s.split('\n').find((l) => l.trim()) ?? s).trim().slice(0, 300);
}
