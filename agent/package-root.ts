// The folder of the @xray/agent package itself. Code runs both from the bundle (dist/agent.js)
// and from the compiled modules (dist/agent/**), so paths relative to __dirname differ: walk up to
// the package.json that names this package (cached; read only when first needed).

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

let root: string | undefined;

export function packageRoot(): string {
  if (root !== undefined) return root;
  for (let dir = __dirname, i = 0; i < 6; i++, dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    try {
      if (existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === '@xray/agent') {
        return (root = dir);
      }
    } catch {
      // unreadable: keep walking up
    }
  }
  return (root = join(__dirname, '..'));
}
