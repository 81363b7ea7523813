// Where the repository and the shared reference folder are, from compiled tests in dist/.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

let root: string | undefined;

/** The repository root: the nearest ancestor of this file holding package.json. */
export function repoRoot(): string {
  if (root) return root;
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('package.json not found above ' + __dirname);
    dir = up;
  }
  return (root = dir);
}

/** ../shared beside the clone (as in CI and on developer machines). */
export function sharedDir(): string {
  return join(repoRoot(), '..', 'shared');
}
