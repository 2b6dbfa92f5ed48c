// The agent's own version, read once from its package.json when first needed (not at start-up).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from './package-root';

let version: string | undefined;

export function agentVersion(): string {
  if (version === undefined) {
    try {
      version = (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      version = '0.0.0';
    }
  }
  return version;
}
