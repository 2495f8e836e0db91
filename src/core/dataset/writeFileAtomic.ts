import { promises as fsp, openSync, writeSync, fsyncSync, closeSync, renameSync, unlinkSync, mkdirSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * Atomic replace: write a temp file in the same folder (same file system, so rename is atomic), fsync it,
 * rename it over the target, then fsync the folder so the rename itself survives a power cut. A crash at
 * any point leaves either the old file or the new one, whole; a failed write removes its temp file.
 * The temp name starts with '.' and ends with '.tmp' so editors/watchers and .gitignore can skip it.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array | AsyncIterable<string | Uint8Array>): Promise<void> {
  const tmp = tempName(file);
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(tmp, 'wx', 0o644);
    if (typeof data === 'string' || data instanceof Uint8Array) await fh.writeFile(data);
    else for await (const chunk of data) await fh.write(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
    await fh.sync();
    await fh.close();
    fh = undefined;
    await fsp.rename(tmp, file);
  } catch (e) {
    await fh?.close().catch(() => undefined);
    await fsp.unlink(tmp).catch(() => undefined);
    throw e;
  }
  await syncDir(dirname(file));
}

/**
 * Synchronous twin, for the CLI and for small files; exportCoco also uses it, including from the extension
 * host (Export, training runs), where it blocks while the annotation files are written.
 */
export function writeFileAtomicSync(file: string, data: string | Uint8Array): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = tempName(file);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', 0o644);
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, file);
  } catch (e) {
    if (fd !== undefined) try { closeSync(fd); } catch {}
    try { unlinkSync(tmp); } catch {}
    throw e;
  }
  try { const d = openSync(dirname(file), 'r'); try { fsyncSync(d); } finally { closeSync(d); } } catch { /* not supported (Windows) */ }
}

function tempName(file: string): string {
  return join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

async function syncDir(dir: string): Promise<void> {
  // Directory fsync is how POSIX makes a rename durable; Windows cannot open folders, which is harmless.
  try { const h = await fsp.open(dir, 'r'); try { await h.sync(); } finally { await h.close(); } } catch { /* unsupported */ }
}
