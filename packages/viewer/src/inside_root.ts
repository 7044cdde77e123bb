// Dataset files are named by the dataset's own metadata, which the viewer does not control: a
// video symlinked (or `..`-pathed) outside the dataset folder must not be served or decoded.

import { realpathSync } from 'node:fs';
import { isAbsolute, relative, sep } from 'node:path';

/** Whether `path` exists and, with every symlink resolved, lies inside `realRoot` (itself already resolved). */
export function insideRoot(realRoot: string, path: string): boolean {
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    return false;
  }
  const rel = relative(realRoot, real);
  return rel !== '' && rel !== '..' && !rel.startsWith('..' + sep) && !isAbsolute(rel);
}
