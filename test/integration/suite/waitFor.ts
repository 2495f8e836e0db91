/**
 * Polls `fn` until `ok` accepts its value and returns that value; throws when `ms` runs out, so a wait that
 * never came true fails the test instead of handing the caller a value it may forget to check.
 */
export async function waitFor<T>(fn: () => T | Promise<T>, ok: (v: T) => boolean, ms = 10_000, everyMs = 100): Promise<T> {
  const end = Date.now() + ms;
  let v = await fn();
  while (!ok(v) && Date.now() < end) { await new Promise((r) => setTimeout(r, everyMs)); v = await fn(); }
  if (!ok(v)) throw new Error(`waited ${ms} ms; last value: ${JSON.stringify(v)?.slice(0, 300)}`);
  return v;
}
