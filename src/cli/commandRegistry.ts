import type { CliCommand } from './command';
import { versionCommand } from './commands/versionCommand';

/** Every `pointbox` subcommand, in the order `pointbox --help` lists them. */
export const commands: CliCommand[] = [
  versionCommand,
];
