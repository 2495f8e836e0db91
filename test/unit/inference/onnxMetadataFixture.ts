/**
 * Writes ONNX metadata into a copy of a model for tests (contract v2 fixtures: there is no v2 model from
 * the trainer yet). Like the trainer's export, entries are ModelProto field 14 (StringStringEntryProto
 * {key = 1, value = 2}); entries with the given keys are removed first, so a value is replaced, not doubled.
 * Walks only the top-level fields and copies every other field byte for byte.
 */
function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) { out.push((n % 0x80) | 0x80); n = Math.floor(n / 0x80); }
  out.push(n);
  return out;
}

function ld(field: number, payload: Uint8Array): Uint8Array {
  const head = [...varint(field * 8 + 2), ...varint(payload.length)];
  const out = new Uint8Array(head.length + payload.length);
  out.set(head); out.set(payload, head.length);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

export function withOnnxMetadata(bytes: Uint8Array, props: Record<string, string | null>): Uint8Array {
  let pos = 0;
  const readVarint = (end: number) => {
    let r = 0; let mul = 1;
    for (;;) {
      if (pos >= end) throw new Error('truncated varint');
      const b = bytes[pos++]!;
      r += (b & 0x7f) * mul; mul *= 128;
      if (!(b & 0x80)) return r;
    }
  };
  const keep: Uint8Array[] = [];
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  while (pos < bytes.length) {
    const start = pos;
    const key = readVarint(bytes.length);
    const field = Math.floor(key / 8);
    const wire = key & 7;
    let drop = false;
    if (wire === 0) readVarint(bytes.length);
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      const len = readVarint(bytes.length);
      const s = pos; pos += len;
      if (field === 14) {
        // Inner entry: field 1 = key.
        const save = pos; pos = s;
        const k = readVarint(s + len);
        if (k === 10) { const kl = readVarint(s + len); drop = dec.decode(bytes.subarray(pos, pos + kl)) in props; }
        pos = save;
      }
    } else throw new Error(`wire type ${wire}`);
    if (!drop) keep.push(bytes.subarray(start, pos));
  }
  for (const [k, v] of Object.entries(props)) if (v !== null) keep.push(ld(14, concat([ld(1, enc.encode(k)), ld(2, enc.encode(v))])));
  return concat(keep);
}
