/** Why a training run could not start: the message names the interpreter / file and what to do. */
export class TrainingRunError extends Error {
  constructor(message: string, readonly code: 'python' | 'trainer' | 'dataset' | 'export') {
    super(message);
    this.name = 'TrainingRunError';
  }
}
