import * as os from 'node:os';
import * as path from 'node:path';

/** Where the window-reload tests leave what the new extension host checks (beside the harness's results file). */
export const reloadStateFile = (): string => `${process.env.POINTBOX_TEST_RESULTS ?? path.join(os.tmpdir(), 'pointbox-it')}.reload-state.json`;
