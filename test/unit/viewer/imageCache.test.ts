/** The viewer's decoded-image cache (webview/viewer/imageCache.ts): a byte budget, least recently used evicted first. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteBudgetCache, type CacheEvent } from '../../../webview/viewer/imageCache';

test('inserting past the budget evicts the least recently used entries until the total fits', () => {
  const events: CacheEvent[] = [];
  const c = new ByteBudgetCache<string>(100, (e) => events.push(e));
  c.set('a', 'A', 40);
  c.set('b', 'B', 40);
  assert.equal(c.bytes, 80);
  c.set('c', 'C', 30); // 110 > 100: 'a' (oldest) goes
  assert.deepEqual(c.keys(), ['b', 'c']);
  assert.equal(c.bytes, 70);
  assert.deepEqual(events, [{ kind: 'evicted', key: 'a', bytes: 40 }]);
  c.set('d', 'D', 100); // needs the whole budget: everything else goes
  assert.deepEqual(c.keys(), ['d']);
  assert.equal(c.bytes, 100);
});

test('get marks an entry most recently used; peek does not', () => {
  const c = new ByteBudgetCache<number>(100);
  c.set('a', 1, 30); c.set('b', 2, 30); c.set('c', 3, 30);
  assert.equal(c.get('a'), 1);
  assert.deepEqual(c.keys(), ['b', 'c', 'a']);
  assert.equal(c.peek('b'), 2);
  assert.deepEqual(c.keys(), ['b', 'c', 'a']);
  c.set('d', 4, 30); // evicts b, the least recently used, not a
  assert.deepEqual(c.keys(), ['c', 'a', 'd']);
  assert.equal(c.get('b'), undefined);
});

test('eviction is by size: one big entry can push out several small ones, and an entry over the budget is refused', () => {
  const events: CacheEvent[] = [];
  const c = new ByteBudgetCache<string>(100, (e) => events.push(e));
  for (const k of ['a', 'b', 'c', 'd']) c.set(k, k, 20);
  c.set('big', 'x', 70); // 150 -> evict a, b, c (oldest first) until <= 100
  assert.deepEqual(c.keys(), ['d', 'big']);
  assert.equal(c.bytes, 90);
  assert.equal(c.set('huge', 'y', 101), false);
  assert.equal(c.has('huge'), false);
  assert.deepEqual(c.keys(), ['d', 'big'], 'a refused entry evicts nothing');
  assert.deepEqual(events.map((e) => `${e.kind}:${e.key}`), ['evicted:a', 'evicted:b', 'evicted:c', 'rejected:huge']);
});

test('a pinned entry (the image on screen) is never evicted, even when the total stays over budget', () => {
  const c = new ByteBudgetCache<string>(100);
  c.set('shown', 's', 60);
  c.pin(['shown']);
  c.set('n1', '1', 30);
  c.set('n2', '2', 30); // 120: shown is oldest but pinned -> n1 goes
  assert.deepEqual(c.keys(), ['shown', 'n2']);
  c.pin(['n2']); // moved on: 'shown' is evictable now
  c.set('n3', '3', 50);
  assert.deepEqual(c.keys(), ['n2', 'n3']);
});

test('replacing a key updates the total; lowering the budget evicts; budget 0 keeps nothing', () => {
  const c = new ByteBudgetCache<string>(100);
  c.set('a', 'A', 50); c.set('b', 'B', 20);
  c.set('a', 'A2', 10);
  assert.equal(c.bytes, 30);
  assert.deepEqual(c.keys(), ['b', 'a']);
  c.setBudget(15);
  assert.deepEqual(c.keys(), ['a']);
  assert.equal(c.delete('a'), true);
  assert.equal(c.bytes, 0);
  const off = new ByteBudgetCache<string>(0);
  assert.equal(off.set('a', 'A', 1), false);
  assert.equal(off.size, 0);
});
