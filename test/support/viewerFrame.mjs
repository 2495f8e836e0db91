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

/** Quick Open (Ctrl+P) with `fileName` typed and its row listed; the caller presses Enter (and times it). */
export async function quickOpen(page, fileName) {
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: 15_000 });
  await input.fill(fileName);
  await page.locator(`.quick-input-list .monaco-list-row:has-text(${JSON.stringify(fileName)})`).first().waitFor({ timeout: 30_000 });
}

/**
 * The viewer canvas's observable state (its data-* attributes: state, file, scale, wl, overlays, ...) plus a
 * digest of its pixels read inside the webview: distinct grey levels, their sum, and a hash that changes when
 * the picture does.
 */
export function canvasState(frame) {
  return frame.evaluate(() => {
    const c = document.getElementById('pb-canvas');
    const { data } = c.getContext('2d').getImageData(0, 0, c.width, c.height);
    const levels = new Set();
    let sum = 0; let hash = 0;
    for (let i = 0; i < data.length; i += 4) {
      levels.add(data[i]);
      sum += data[i];
      hash = (hash * 31 + data[i] + 7 * data[i + 1]) | 0;
    }
    return { ...c.dataset, width: c.width, height: c.height, cssWidth: c.clientWidth, cssHeight: c.clientHeight, levels: levels.size, sum, hash, title: document.title };
  });
}
