/**
 * The shape every `pointbox` subcommand has. Commands live in src/cli/commands/<name>Command.ts and are
 * listed in src/cli/commandRegistry.ts. They are built only from src/core (never 'vscode').
 */
export interface CliIo {
  /** Write to stdout (machine-readable output such as --json goes here, nothing else). */
  out(text: string): void;
  /** Write to stderr (progress, warnings, errors). */
  err(text: string): void;
  cwd: string;
}

export interface CliCommand {
  /** First word on the command line, e.g. "dicom" or "import". */
  name: string;
  /** One line for `pointbox --help`. */
  summary: string;
  /** Full usage text for `pointbox <name> --help`. */
  usage: string;
  /** Returns the process exit code. Throwing a UsageError prints the usage; any other error one line. */
  run(args: string[], io: CliIo): Promise<number>;
}

export class UsageError extends Error {
  override name = 'UsageError';
}
