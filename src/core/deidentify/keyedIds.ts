import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** The shortest key PointBox accepts (bytes): an HMAC key shorter than this is guessable. */
export const MIN_KEY_BYTES = 16;

/**
 * Deterministic pseudonyms under a secret key: new UIDs for old ones and new names for image files.
 *
 * A new UID is HMAC-SHA256(key, old UID), its first 128 bits made an RFC 9562 version-8 (custom) UUID and written
 * under the UUID-derived root 2.25 (ISO/IEC 9834-8, PS3.5 B.2): the same old UID gives the same new UID in every
 * export made with the same key (so studies and series stay together across exports and references inside a
 * file stay consistent), and without the key nobody can go back or test a guess. The key is never written
 * anywhere by PointBox; `keyId` is a one-way fingerprint that tells two exports made with the same key apart
 * from others without revealing it.
 */
export class KeyedIds {
  private readonly uids = new Map<string, string>();
  constructor(private readonly key: Uint8Array) {
    if (key.length < MIN_KEY_BYTES) throw new RangeError(`the de-identification key must have at least ${MIN_KEY_BYTES} bytes (got ${key.length})`);
  }

  /** The new UID for `old` (trailing NUL/space padding ignored). */
  uid(old: string): string {
    const k = old.replace(/[\0 ]+$/, '').trim();
    let v = this.uids.get(k);
    if (v === undefined) {
      const h = createHmac('sha256', this.key).update('uid\0' + k).digest().subarray(0, 16);
      h[6] = (h[6]! & 0x0f) | 0x80; // version 8
      h[8] = (h[8]! & 0x3f) | 0x80; // RFC 9562 variant
      v = `2.25.${BigInt('0x' + h.toString('hex')).toString(10)}`;
      this.uids.set(k, v);
    }
    return v;
  }

  /** A 32-hex-digit pseudonym for `value` in namespace `kind` (e.g. an image's path). */
  pseudonym(kind: string, value: string): string {
    return createHmac('sha256', this.key).update(kind + '\0' + value).digest('hex').slice(0, 32);
  }

  /** A fingerprint of the key (16 hex digits), safe to write into an export. */
  keyId(): string {
    return createHmac('sha256', this.key).update('pointbox de-identification key id').digest('hex').slice(0, 16);
  }

  /** Every UID replaced so far, old -> new. */
  uidMap(): ReadonlyMap<string, string> { return this.uids; }
}

/** A fresh random key (32 bytes) for a one-off export whose UIDs need not match any other export's. */
export function randomKey(): Uint8Array { return randomBytes(32); }

/**
 * Reads a key file: its bytes, with surrounding whitespace (a trailing newline) removed. Any content works (a
 * passphrase, hex, base64); at least MIN_KEY_BYTES bytes.
 */
export function readKeyFile(path: string): Uint8Array {
  const raw = readFileSync(path);
  let a = 0; let b = raw.length;
  const ws = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
  while (a < b && ws(raw[a]!)) a++;
  while (b > a && ws(raw[b - 1]!)) b--;
  const key = raw.subarray(a, b);
  if (key.length < MIN_KEY_BYTES) throw new RangeError(`the key file ${path} holds ${key.length} bytes; it needs at least ${MIN_KEY_BYTES} (e.g. head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n' > ${path})`);
  return new Uint8Array(key);
}

/** A new key as 64 hex digits and a newline, the form `readKeyFile` takes. */
export function newKeyFileText(): string { return randomBytes(32).toString('hex') + '\n'; }
