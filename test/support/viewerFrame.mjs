/** Helpers the browser tests share to reach PointBox's viewer webview inside the workbench page. */

/** Polls `fn` (sync or async) until it returns a truthy value; fails with `what` after `timeoutMs`. */
export async function until(what, fn, timeoutMs = 30_000) {
  const t0 = Date.now();
  let last;
  for (;;) {
    try { last = await fn(); } catch (e) { last = undefined; if (Date.now() - t0 > timeoutMs) throw e; }
    if (last) return last;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/**
 * The viewer's inner webview frame for `fileName` (its document title is the file name). Webviews are nested
 * iframes, so the frame is found by asking each one, not by a selector.
 */
export async function viewerFrame(page, fileName, timeoutMs = 90_000) {
  return until(`the viewer frame of ${fileName}`, async () => {
    for (const f of page.frames()) {
      if (f.isDetached()) continue;
      const ok = await f.evaluate((name) => document.title === name && !!document.getElementById('pb-canvas'), fileName).catch(() => false);
      if (ok) return f;
    }
    return undefined;
  }, timeoutMs);
}
