import { UsageError } from './command';

/**
 * A small, strict option parser: `--name value`, `--name=value`, boolean `--flag`, positionals.
 * Unknown options are an error (a typo must not silently become a default).
 */
export interface ParsedArgs {
  positionals: string[];
  options: Map<string, string | true>;
}

export function parseArgs(argv: string[], spec: { values?: string[]; flags?: string[] }): ParsedArgs {
  const values = new Set(spec.values ?? []);
  const flags = new Set([...(spec.flags ?? []), 'help']);
  const positionals: string[] = [];
  const options = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') { positionals.push(...argv.slice(i + 1)); break; }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      if (flags.has(name) && eq < 0) { options.set(name, true); continue; }
      if (!values.has(name)) throw new UsageError(`unknown option --${name}`);
      const v = eq >= 0 ? a.slice(eq + 1) : argv[++i];
      if (v === undefined) throw new UsageError(`--${name} needs a value`);
      options.set(name, v);
    } else {
      positionals.push(a);
    }
  }
  return { positionals, options };
}

export function optString(p: ParsedArgs, name: string): string | undefined {
  const v = p.options.get(name);
  return typeof v === 'string' ? v : undefined;
}

export function requireString(p: ParsedArgs, name: string): string {
  const v = optString(p, name);
  if (v === undefined) throw new UsageError(`--${name} is required`);
  return v;
}

export function optNumber(p: ParsedArgs, name: string, def?: number): number | undefined {
  const v = optString(p, name);
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got '${v}'`);
  return n;
}

export function hasFlag(p: ParsedArgs, name: string): boolean {
  return p.options.get(name) === true;
}
