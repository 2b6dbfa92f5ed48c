// The agent's logger. Writes to stderr only (never stdout, which belongs to the app).
// pino is loaded on the first line that is actually written, so a quiet agent never pays
// for it at start-up.

export type LogLevel = 'silent' | 'error' | 'warn' | 'info' | 'debug';

const LEVEL_RANK: Record<LogLevel, number> = { silent: 0, error: 1, warn: 2, info: 3, debug: 4 };

export const LOG_LEVELS: readonly LogLevel[] = ['silent', 'error', 'warn', 'info', 'debug'];

type Fields = Record<string, unknown>;

interface PinoLike {
  error(obj: Fields, msg: string): void;
  warn(obj: Fields, msg: string): void;
  info(obj: Fields, msg: string): void;
  debug(obj: Fields, msg: string): void;
}

let rank = LEVEL_RANK.warn;
let pinoInstance: PinoLike | undefined;
let pinoFailed = false;
const onceKeys = new Set<string>();

function sink(): PinoLike | undefined {
  if (pinoInstance || pinoFailed) return pinoInstance;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pino = require('pino') as typeof import('pino');
    pinoInstance = pino.default(
      { name: '@xray/agent', level: 'debug', base: { pid: process.pid } },
      pino.destination({ dest: 2, sync: true }),
    ) as unknown as PinoLike;
  } catch {
    pinoFailed = true;
  }
  return pinoInstance;
}

function write(level: Exclude<LogLevel, 'silent'>, msg: string, fields?: Fields): void {
  if (LEVEL_RANK[level] > rank) return;
  try {
    const p = sink();
    if (p) {
      p[level](fields ?? {}, msg);
    } else {
      // pino could not load (broken install): fall back to a plain stderr line.
      process.stderr.write(`@xray/agent ${level}: ${msg}${fields ? ' ' + safeJson(fields) : ''}\n`);
    }
  } catch {
    // Logging must never throw into the app.
  }
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v);
  } catch {
    return '[unserializable]';
  }
}

export const log = {
  error: (msg: string, fields?: Fields) => write('error', msg, fields),
  warn: (msg: string, fields?: Fields) => write('warn', msg, fields),
  info: (msg: string, fields?: Fields) => write('info', msg, fields),
  debug: (msg: string, fields?: Fields) => write('debug', msg, fields),
  /** Logs a line only the first time `key` is seen in this process. */
  once(key: string, level: Exclude<LogLevel, 'silent'>, msg: string, fields?: Fields): void {
    if (onceKeys.has(key)) return;
    onceKeys.add(key);
    write(level, msg, fields);
  },
  enabled(level: Exclude<LogLevel, 'silent'>): boolean {
    return LEVEL_RANK[level] <= rank;
  },
  setLevel(level: LogLevel): void {
    rank = LEVEL_RANK[level];
  },
};

export type Logger = typeof log;
