import type { CliCommand } from './command';
import { versionCommand } from './commands/versionCommand';
import { dicomCommand } from './commands/dicomCommand';
import { importCommand } from './commands/importCommand';
import { statsCommand } from './commands/statsCommand';
import { splitCommand } from './commands/splitCommand';
import { exportCommand } from './commands/exportCommand';
import { validateCommand } from './commands/validateCommand';
import { imagesRootCommand } from './commands/imagesRootCommand';
import { phantomCommand } from './commands/phantomCommand';
import { pseudoLabelCommand } from './commands/pseudoLabelCommand';
import { evalCommand } from './commands/evalCommand';
import { priorTableCommand } from './commands/priorTableCommand';
import { phiReportCommand } from './commands/phiReportCommand';
import { benchmarkCommand } from './commands/benchmarkCommand';
import { mergeCommand } from './commands/mergeCommand';

/** Every `pointbox` subcommand, in the order `pointbox --help` lists them. */
export const commands: CliCommand[] = [
  versionCommand,
  dicomCommand,
  importCommand,
  statsCommand,
  splitCommand,
  exportCommand,
  phiReportCommand,
  validateCommand,
  imagesRootCommand,
  phantomCommand,
  pseudoLabelCommand,
  evalCommand,
  mergeCommand,
  priorTableCommand,
  benchmarkCommand,
];
