/**
 * The viewer's decoded-image cache (issue 13): decoded images of the likely next files (prefetched) and of
 * the ones just left (so "previous" is instant), bounded by a byte budget and evicted least recently used
 * first, by size, like cornerstone's image cache: inserting an entry evicts the oldest entries until the
 * total fits. An entry larger than the whole budget is not kept. `pinned` keys (the image on screen) are
 * never evicted. Not DOM-bound: unit-tested in plain Node.
 */
export interface CacheEvent { kind: 'evicted' | 'rejected'; key: string; bytes: number }

export class ByteBudgetCache<V> {
  /** Map iteration order is insertion order: re-inserting on use makes it the LRU order (oldest first). */
  private readonly entries = new Map<string, { value: V; bytes: number }>();
  private total = 0;
  private readonly pinned = new Set<string>();

  constructor(private budget: number, private readonly onEvent?: (e: CacheEvent) => void) {}

  get bytes(): number { return this.total; }
  get size(): number { return this.entries.size; }
  get budgetBytes(): number { return this.budget; }

  /** Keys from least to most recently used. */
  keys(): string[] { return [...this.entries.keys()]; }

  has(key: string): boolean { return this.entries.has(key); }

  /** The value, marked most recently used. */
  get(key: string): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    this.entries.delete(key);
    this.entries.set(key, e);
    return e.value;
  }

  /** The value without touching the LRU order. */
  peek(key: string): V | undefined { return this.entries.get(key)?.value; }

  /** Stores (or replaces) `key`, most recently used, and evicts until the budget holds. False when it cannot fit at all. */
  set(key: string, value: V, bytes: number): boolean {
    this.delete(key);
    if (bytes > this.budget) { this.onEvent?.({ kind: 'rejected', key, bytes }); return false; }
    this.entries.set(key, { value, bytes });
    this.total += bytes;
    this.evict(key);
    return true;
  }

  delete(key: string): boolean {
    const e = this.entries.get(key);
    if (!e) return false;
    this.entries.delete(key);
    this.total -= e.bytes;
    return true;
  }

  /** Keys that eviction must skip (the image on screen). */
  pin(keys: Iterable<string>): void {
    this.pinned.clear();
    for (const k of keys) this.pinned.add(k);
  }

  setBudget(bytes: number): void {
    this.budget = bytes;
    this.evict();
  }

  private evict(keep?: string): void {
    if (this.total <= this.budget) return;
    for (const [k, e] of this.entries) {
      if (this.total <= this.budget) break;
      if (k === keep || this.pinned.has(k)) continue;
      this.entries.delete(k);
      this.total -= e.bytes;
      this.onEvent?.({ kind: 'evicted', key: k, bytes: e.bytes });
    }
  }
}
