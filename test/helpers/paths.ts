import { resolve } from 'node:path';

/** The project's root directory. */
export const ROOT = resolve(__dirname, '..', '..');
