/**
 * `pointbox.box_prior`, the metadata entry that model contract v2 adds: the class-conditional box prior a
 * prior-residual model predicts its residual on. Its zero output is exactly this box, so the prior the model
 * carries is part of what it is, and PointBox shows it (which classes the model never learned and returns
 * the prior for) and can use it as a prior table.
 *
 *   {"parameterization":"prior-residual","unit":"frac","classes":{"<name>":{"w":0.212,"h":0.291,"dx":0,"dy":0,
 *     "learned":true,"boxes":9534,"source":"...","reason":"..."}}}
 *
 * w, h: prior box size as a fraction of the model input side (= of the image's longer side, as the input is
 * a letterbox of the image); dx, dy: prior centre offset from the click in units of w, h; learned false:
 * the model returns exactly the prior box for that class, and `reason` says why (e.g. too few boxes).
 */

export interface BoxPriorClass {
  w: number;
  h: number;
  dx: number;
  dy: number;
  learned: boolean;
  boxes?: number;
  source?: string;
  reason?: string;
}

export interface BoxPrior {
  parameterization: 'prior-residual';
  unit: 'frac';
  classes: Record<string, BoxPriorClass>;
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * Checks a box_prior value (the metadata string, or an already parsed object). With `modelClasses`, every
 * class of the model must be listed (a v2 model without a prior for one of its classes has no defined
 * output for it). Returns the problems instead of throwing, so the contract check can list them with the
 * others.
 */
export function checkBoxPrior(value: unknown, modelClasses?: readonly string[]): { prior?: BoxPrior; problems: string[] } {
  const problems: string[] = [];
  let v = value;
  if (typeof v === 'string') {
    try { v = JSON.parse(v); } catch (e) { return { problems: [`'pointbox.box_prior' is not valid JSON (${(e as Error).message})`] }; }
  }
  if (v === undefined) return { problems: ["'pointbox.box_prior' is missing (contract v2 requires it)"] };
  if (!v || typeof v !== 'object' || Array.isArray(v)) return { problems: ["'pointbox.box_prior' must be a JSON object"] };
  const o = v as Record<string, unknown>;
  if (o.parameterization !== 'prior-residual') problems.push(`'pointbox.box_prior' parameterization must be "prior-residual" (got ${JSON.stringify(o.parameterization)})`);
  if (o.unit !== 'frac') problems.push(`'pointbox.box_prior' unit must be "frac" (got ${JSON.stringify(o.unit)})`);
  const cls = o.classes;
  if (!cls || typeof cls !== 'object' || Array.isArray(cls)) {
    problems.push("'pointbox.box_prior' needs a \"classes\" object");
    return { problems };
  }
  const out: Record<string, BoxPriorClass> = {};
  for (const [name, raw] of Object.entries(cls as Record<string, unknown>)) {
    const where = `'pointbox.box_prior' class '${name}'`;
    if (!raw || typeof raw !== 'object') { problems.push(`${where} must be an object`); continue; }
    const c = raw as Record<string, unknown>;
    const bad: string[] = [];
    if (!isNum(c.w) || c.w <= 0 || c.w > 1) bad.push(`w must be a number in (0, 1] (got ${JSON.stringify(c.w)})`);
    if (!isNum(c.h) || c.h <= 0 || c.h > 1) bad.push(`h must be a number in (0, 1] (got ${JSON.stringify(c.h)})`);
    for (const k of ['dx', 'dy'] as const) if (c[k] !== undefined && !isNum(c[k])) bad.push(`${k} must be a number (got ${JSON.stringify(c[k])})`);
    if (typeof c.learned !== 'boolean') bad.push(`learned must be true or false (got ${JSON.stringify(c.learned)})`);
    if (c.learned === false && (typeof c.reason !== 'string' || !c.reason.trim())) bad.push('learned is false but there is no "reason"');
    if (c.boxes !== undefined && (!isNum(c.boxes) || c.boxes < 0)) bad.push(`boxes must be a count (got ${JSON.stringify(c.boxes)})`);
    if (bad.length) { problems.push(`${where}: ${bad.join('; ')}`); continue; }
    out[name] = {
      w: c.w as number, h: c.h as number, dx: (c.dx as number | undefined) ?? 0, dy: (c.dy as number | undefined) ?? 0, learned: c.learned as boolean,
      ...(isNum(c.boxes) ? { boxes: c.boxes } : {}),
      ...(typeof c.source === 'string' ? { source: c.source } : {}),
      ...(typeof c.reason === 'string' ? { reason: c.reason } : {}),
    };
  }
  if (modelClasses) {
    const missing = modelClasses.filter((m) => !(m in (cls as object)));
    if (missing.length) problems.push(`'pointbox.box_prior' lacks the model class(es) ${missing.map((m) => `'${m}'`).join(', ')} (v2 must list every class of 'pointbox.classes')`);
  }
  return problems.length ? { problems } : { prior: { parameterization: 'prior-residual', unit: 'frac', classes: out }, problems };
}

/** Classes for which the model returns the prior box unchanged. */
export function priorOnlyClasses(p: BoxPrior): string[] {
  return Object.entries(p.classes).filter(([, c]) => !c.learned).map(([n]) => n);
}

/** One line for the Models view: "v2, prior-residual; prior-only classes: Cardiomegaly, Mass" (or "none"). */
export function boxPriorSummary(contractVersion: string, p: BoxPrior | undefined): string {
  if (!p) return `v${contractVersion}, no box prior`;
  const only = priorOnlyClasses(p);
  return `v${contractVersion}, ${p.parameterization}; prior-only classes: ${only.length ? only.join(', ') : 'none'}`;
}
