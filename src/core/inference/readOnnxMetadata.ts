/**
 * Reads an ONNX file's top-level facts (IR version, opsets, producer, metadata_props) without decoding the
 * graph. onnxruntime-node exposes input/output metadata but not the model's custom metadata map, and the
 * model contract keeps classes, input size and normalization there. Pulling in protobufjs plus the ONNX
 * schema to read five top-level fields would decode every weight for nothing, so this walks the protobuf
 * wire format of ModelProto directly and skips the graph (field 7) by its length.
 */
import { InferenceError } from './InferenceError';

export interface OnnxModelFacts {
  irVersion: number;
  producerName: string;
  producerVersion: string;
  opsets: { domain: string; version: number }[];
  metadata: Record<string, string>;
}

class Reader {
  pos = 0;
  constructor(readonly buf: Uint8Array, readonly end: number, readonly file: string) {}
  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new InferenceError('model-unreadable', `${this.file}: truncated ONNX protobuf (varint)`, this.file);
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
    throw new InferenceError('model-unreadable', `${this.file}: bad varint in ONNX protobuf`, this.file);
  }
  bytes(): [number, number] {
    const len = this.varint();
    const start = this.pos;
    if (start + len > this.end) throw new InferenceError('model-unreadable', `${this.file}: truncated ONNX protobuf (field of ${len} bytes)`, this.file);
    this.pos += len;
    return [start, start + len];
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new InferenceError('model-unreadable', `${this.file}: not an ONNX model (protobuf wire type ${wire})`, this.file);
    if (this.pos > this.end) throw new InferenceError('model-unreadable', `${this.file}: truncated ONNX protobuf`, this.file);
  }
}

const text = new TextDecoder();

function readStringPairs(buf: Uint8Array, start: number, end: number, file: string): Record<number, string | number> {
  const r = new Reader(buf, end, file);
  r.pos = start;
  const out: Record<number, string | number> = {};
  while (r.pos < end) {
    const key = r.varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 2) { const [s, e] = r.bytes(); out[field] = text.decode(buf.subarray(s, e)); }
    else if (wire === 0) out[field] = r.varint();
    else r.skip(wire);
  }
  return out;
}

export function readOnnxMetadata(bytes: Uint8Array, file = 'model.onnx'): OnnxModelFacts {
  const r = new Reader(bytes, bytes.length, file);
  const facts: OnnxModelFacts = { irVersion: 0, producerName: '', producerVersion: '', opsets: [], metadata: {} };
  let sawGraph = false;
  while (r.pos < bytes.length) {
    const key = r.varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (field === 1 && wire === 0) facts.irVersion = r.varint();
    else if ((field === 2 || field === 3) && wire === 2) {
      const [s, e] = r.bytes();
      const v = text.decode(bytes.subarray(s, e));
      if (field === 2) facts.producerName = v; else facts.producerVersion = v;
    } else if (field === 8 && wire === 2) {
      const [s, e] = r.bytes();
      const p = readStringPairs(bytes, s, e, file);
      facts.opsets.push({ domain: typeof p[1] === 'string' ? p[1] : '', version: typeof p[2] === 'number' ? p[2] : 0 });
    } else if (field === 14 && wire === 2) {
      const [s, e] = r.bytes();
      const p = readStringPairs(bytes, s, e, file);
      if (typeof p[1] === 'string') facts.metadata[p[1]] = typeof p[2] === 'string' ? p[2] : '';
    } else {
      if (field === 7) sawGraph = true;
      r.skip(wire);
    }
  }
  if (!sawGraph || facts.irVersion === 0) throw new InferenceError('model-unreadable', `${file}: not an ONNX model (no graph or IR version found)`, file);
  return facts;
}
