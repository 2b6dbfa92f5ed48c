#!/usr/bin/env node
// The `xray-agent` command: only a dispatcher. Each command lives in its own file exporting
// `usage` and `run(argv): Promise<exitCode>`, and is loaded only when invoked, so `--version`
// stays instant. To add one (e.g. `doctor`), add a row to COMMANDS.

import * as fs from 'node:fs';
import * as path from 'node:path';

interface CommandModule {
  usage: string;
  run(argv: string[]): Promise<number>;
}

const COMMANDS: Record<string, { summary: string; load: () => CommandModule }> = {
  listen: {
    summary: 'receive X-Ray documents on UDP (a local daemon stand-in) and print each trace as a tree',
    load: () => require('./listen') as typeof import('./listen'),
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const rows = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `Usage: xray-agent <command> [options]

Commands:
${rows.join('\n')}

Options:
  -h, --help      show this help (xray-agent <command> --help for a command's options)
  -v, --version   print the version of @xray/agent
`;
}

/** Resolves with the exit code: 0 ok, 1 failure, 2 usage error. */
export async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    process.stderr.write(usage());
    return 2;
  }
  if (first === '-h' || first === '--help' || first === 'help') {
    const command = rest[0] === undefined ? undefined : COMMANDS[rest[0]];
    process.stdout.write(command ? command.load().usage : usage());
    return 0;
  }
  if (first === '-v' || first === '--version') {
    process.stdout.write(version() + '\n');
    return 0;
  }
  const command = Object.hasOwn(COMMANDS, first) ? COMMANDS[first] : undefined;
  if (!command) {
    process.stderr.write(`xray-agent: unknown command "${first}"\n\n${usage()}`);
    return 2;
  }
  return command.load().run(rest);
}

/**
 * Read at run time from the package's own package.json (found by walking up from this file:
 * dist/bin/ when built). Importing the JSON would make tsc copy it into dist/, a stale twin.
 */
function version(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === '@xray/agent' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // No (readable) package.json here: keep walking up.
    }
    if (path.dirname(dir) === dir) return 'unknown';
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    // exitCode rather than process.exit(): lets stdout drain when piped.
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`xray-agent: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
