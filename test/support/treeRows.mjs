/**
 * Reveals a row of a VS Code tree in the browser by expanding its ancestors, one level at a time.
 *
 * Why a retry loop: PointBox's Datasets tree loads datasets asynchronously and fires changes for the nodes
 * that changed, so a node can be re-rendered (and come back collapsed) between our click and the arrival of
 * its children. Clicking once and waiting made the e2e tier flaky on a cold machine (the row never came). Here
 * each level is re-checked and expanded again until the next level's row is visible or the deadline passes.
 *
 * @param {import('playwright-core').Locator} container  e.g. page.locator('.sidebar')
 * @param {string[]} path  the row texts from level 1 down to the row wanted (the last is not expanded)
 * @returns {Promise<import('playwright-core').Locator>} the visible row at the end of the path
 */
export async function revealTreeRow(container, path, { timeout = 90_000 } = {}) {
  const deadline = Date.now() + timeout;
  const rowAt = (level, text) => container.locator(`.monaco-list-row[aria-level="${level}"]:has-text(${JSON.stringify(text)})`).first();
  for (let level = 1; level < path.length; level++) {
    const parent = rowAt(level, path[level - 1]);
    const child = rowAt(level + 1, path[level]);
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`tree row ${path.slice(0, level + 1).join(' / ')} did not appear within ${timeout} ms`);
      await parent.waitFor({ timeout: left });
      if ((await parent.getAttribute('aria-expanded').catch(() => null)) !== 'true') await parent.click().catch(() => {});
      try {
        await child.waitFor({ timeout: Math.min(5_000, Math.max(1, deadline - Date.now())) });
        break;
      } catch { /* collapsed again by a refresh, or still loading: look again */ }
    }
  }
  const row = rowAt(path.length, path[path.length - 1]);
  await row.waitFor({ timeout: Math.max(1, deadline - Date.now()) });
  return row;
}

/** Collapses the given rows of one level that are expanded, so others fit on screen (the tree is a virtual list). */
export async function collapseTreeRows(container, level, names) {
  for (const name of names) {
    const r = container.locator(`.monaco-list-row[aria-level="${level}"]:has-text(${JSON.stringify(name)})`).first();
    if ((await r.getAttribute('aria-expanded', { timeout: 2_000 }).catch(() => null)) === 'true') await r.click();
  }
}

/** Collapses the given level-1 rows (datasets) that are expanded. */
export const collapseTreeRoots = (container, names) => collapseTreeRows(container, 1, names);
