/**
 * Node-only file reader for the decode path: reads a whole image file into one exactly-sized ArrayBuffer
 * (so its pixels can be transferred to another thread without a copy) and summarizes the OR of its 32-bit
 * words block by block while each block is still in cache (see wordOrSummary.ts for why).
 *
 * It is synchronous on purpose: it runs in decode worker threads and the CLI, where blocking is fine, and a
 * 7 MB read in 256 KiB blocks costs about 1 ms; an await per block would cost more than the read.
 */
import { Buffer } from 'node:buffer';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { orBlock, type WordOrSummary } from './wordOrSummary';

const READ_BLOCK_BYTES = 256 * 1024;

export interface ImageFileBytes {
  bytes: Uint8Array;
  wordOr: WordOrSummary;
}

/** Throws Node's own errors (ENOENT, EISDIR, ...); callers map them to an ImagingError naming the file. */
export function readImageFile(path: string, blockBytes = READ_BLOCK_BYTES): ImageFileBytes {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    // Not zero-filled (the read overwrites it) and not pooled: its ArrayBuffer is exactly the file.
    const buf = Buffer.allocUnsafeSlow(size);
    const ab = buf.buffer;
    const bytes = new Uint8Array(ab, 0, size);
    const ors = new Int32Array(Math.floor(size / blockBytes));
    let pos = 0;
    while (pos < size) {
      const want = Math.min(blockBytes, size - pos);
      let got = 0;
      while (got < want) {
        const n = readSync(fd, bytes, pos + got, want - got, pos + got);
        if (n <= 0) break; // the file shrank while we read it
        got += n;
      }
      if (got === blockBytes) ors[pos / blockBytes] = orBlock(ab, pos, blockBytes);
      pos += got;
      if (got < want) break;
    }
    // A file that shrank under us: hand out what was read (the decoder then reports it as truncated).
    const out = pos === size ? bytes : bytes.subarray(0, pos);
    return { bytes: out, wordOr: { buffer: ab, blockBytes, ors: ors.subarray(0, Math.floor(pos / blockBytes)) } };
  } finally {
    closeSync(fd);
  }
}
