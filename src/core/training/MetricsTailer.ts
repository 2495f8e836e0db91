/**
 * Follows a growing metrics.jsonl: each poll() reads only the bytes appended since the last one and
 * returns the complete new lines. A partial last line waits for the next poll. When the file shrinks or
 * is replaced (a different inode: truncation, rotation, a re-run into the same folder) it starts over
 * from byte 0 and says so with `restarted`, so the caller can rebuild what it derived.
 */
import { closeSync, fstatSync, openSync, readSync, statSync, promises as fsp } from 'node:fs';
import { parseMetricsText, type MetricsRecord } from './runDirectory';

export interface TailResult {
  records: MetricsRecord[];
  problems: string[];
  /** True when the file was truncated or replaced and these records start from its beginning again. */
  restarted: boolean;
}

export class MetricsTailer {
  private offset = 0;
  private ino: number | undefined;
  private pending = Buffer.alloc(0);
  private line = 1;

  constructor(readonly file: string) {}

  /** Bytes consumed so far (complete lines only). */
  get position(): number {
    return this.offset;
  }

  poll(): TailResult {
    let size: number;
    let ino: number;
    try {
      const st = statSync(this.file);
      size = st.size;
      ino = st.ino;
    } catch {
      return { records: [], problems: [], restarted: false }; // not there yet
    }
    const restarted = this.checkRestart(size, ino);
    const from = this.offset + this.pending.length;
    if (size <= from) return { records: [], problems: [], restarted };
    const fd = openSync(this.file, 'r');
    let chunk: Buffer;
    try {
      // Re-check on the open descriptor: the file may have been swapped between stat and open.
      const now = fstatSync(fd);
      if (now.ino !== ino) return { records: [], problems: [], restarted };
      chunk = Buffer.alloc(Math.min(now.size, size) - from);
      let got = 0;
      while (got < chunk.length) {
        const n = readSync(fd, chunk, got, chunk.length - got, from + got);
        if (n === 0) break;
        got += n;
      }
      chunk = chunk.subarray(0, got);
    } finally {
      closeSync(fd);
    }
    return this.consume(chunk, restarted);
  }

  /** `poll` with asynchronous reads (the extension host's Runs view and run watchers); calls are serialized. */
  pollAsync(): Promise<TailResult> {
    const p = this.chain.then(() => this.pollAsyncNow());
    this.chain = p.then(() => undefined, () => undefined);
    return p;
  }

  private chain: Promise<void> = Promise.resolve();

  private async pollAsyncNow(): Promise<TailResult> {
    let size: number;
    let ino: number;
    try {
      const st = await fsp.stat(this.file);
      size = st.size;
      ino = st.ino;
    } catch {
      return { records: [], problems: [], restarted: false };
    }
    const restarted = this.checkRestart(size, ino);
    const from = this.offset + this.pending.length;
    if (size <= from) return { records: [], problems: [], restarted };
    const fh = await fsp.open(this.file, 'r');
    let chunk: Buffer;
    try {
      const now = await fh.stat();
      if (now.ino !== ino) return { records: [], problems: [], restarted };
      chunk = Buffer.alloc(Math.min(now.size, size) - from);
      let got = 0;
      while (got < chunk.length) {
        const { bytesRead } = await fh.read(chunk, got, chunk.length - got, from + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      chunk = chunk.subarray(0, got);
    } finally {
      await fh.close();
    }
    return this.consume(chunk, restarted);
  }

  private checkRestart(size: number, ino: number): boolean {
    let restarted = false;
    const readTo = this.offset + this.pending.length;
    if ((this.ino !== undefined && ino !== this.ino) || size < readTo) {
      this.offset = 0;
      this.pending = Buffer.alloc(0);
      this.line = 1;
      restarted = this.ino !== undefined;
    }
    this.ino = ino;
    return restarted;
  }

  private consume(chunk: Buffer, restarted: boolean): TailResult {
    const buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    // Split at the last newline on bytes, so a multi-byte character cut by the read is never decoded half.
    const nl = buf.lastIndexOf(0x0a);
    if (nl < 0) {
      this.pending = Buffer.from(buf);
      return { records: [], problems: [], restarted };
    }
    const complete = buf.subarray(0, nl + 1);
    this.pending = Buffer.from(buf.subarray(nl + 1));
    const text = complete.toString('utf8');
    const parsed = parseMetricsText(text, this.file, this.line);
    this.line += text.split('\n').length - 1;
    this.offset += complete.length;
    return { records: parsed.records, problems: parsed.problems, restarted };
  }
}
