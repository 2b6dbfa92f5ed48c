// The agent's own version, read once from its package.json when first needed (not at start-up).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

let version: string | undefined;

export function agentVersion(): string {
  if (version === undefined) {
    try {
      // dist/agent/version.js → ../../package.json
      version = (JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      version = '0.0.0';
    }
  }
  return version;
}
