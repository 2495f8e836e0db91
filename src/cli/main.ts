/**
 * `pointbox` command-line entry. Dispatches to the subcommands in commandRegistry.ts and turns errors
 * into one-line messages and exit codes (2 = usage, 1 = failure), so scripts and CI can rely on them.
 */
import { commands } from './commandRegistry';
import { UsageError, type CliIo } from './command';

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.out('usage: pointbox <command> [options]\n\ncommands:\n');
    for (const c of commands) io.out(`  ${c.name.padEnd(14)} ${c.summary}\n`);
    io.out('\n`pointbox <command> --help` shows a command\'s options.\n');
    return name ? 0 : 2;
  }
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) { io.err(`pointbox: unknown command '${name}' (see pointbox --help)\n`); return 2; }
  if (rest.includes('--help') || rest.includes('-h')) { io.out(cmd.usage + '\n'); return 0; }
  try {
    return await cmd.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) { io.err(`pointbox ${name}: ${e.message}\nusage: ${cmd.usage}\n`); return 2; }
    io.err(`pointbox ${name}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

const isMain = typeof require !== 'undefined' && require.main === module;
if (isMain) {
  // `pointbox ... | head` closes stdout early: stop quietly like other Unix tools instead of crashing.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => { if (e.code === 'EPIPE') process.exit(0); throw e; });
  const io: CliIo = {
    out: (t) => { process.stdout.write(t); },
    err: (t) => { process.stderr.write(t); },
    cwd: process.cwd(),
  };
  runCli(process.argv.slice(2), io).then((code) => { process.exitCode = code; });
}
