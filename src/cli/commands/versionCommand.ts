import type { CliCommand } from '../command';
import { productInfo } from '../../shared/productInfo';

export const versionCommand: CliCommand = {
  name: 'version',
  summary: 'print the PointBox version and runtime as JSON',
  usage: 'pointbox version',
  async run(_args, io) {
    io.out(JSON.stringify({ name: productInfo.name, version: productInfo.version, node: process.versions.node }) + '\n');
    return 0;
  },
};
