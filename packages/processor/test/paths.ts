import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { SHARED_DIR } from '../../test-utils/src/index.js';

const here = fileURLToPath(new URL('.', import.meta.url));
/** ../shared beside the repository checkout (read-only inputs shared by all packages). */
export const SHARED = SHARED_DIR;
export const PROCESSOR_DIR = join(SHARED, 'models', 'qwen3vl-processor');
export const FIXTURE_DIR = join(SHARED, 'fixtures', 'qwen3vl-tiny-a');
export const TEST_DATA = join(here, 'data');
