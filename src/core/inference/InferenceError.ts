/** Typed errors of the inference layer; the message always names the file (model or image) and the problem. */
export type InferenceErrorCode =
  | 'model-unreadable'      // not an ONNX file, truncated
  | 'model-contract'        // inputs/outputs/metadata do not fit models/README.md
  | 'provider-unavailable'  // an explicitly requested execution provider cannot load
  | 'class-mismatch'        // no dataset class maps to a model class
  | 'image-failed'          // one image could not be decoded/preprocessed (the batch goes on)
  | 'cancelled';

export class InferenceError extends Error {
  override name = 'InferenceError';
  constructor(readonly code: InferenceErrorCode, message: string, readonly file?: string) {
    super(message);
  }
}
