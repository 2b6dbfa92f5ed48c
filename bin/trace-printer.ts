// Turns received X-Ray documents into a readable, indented tree per trace, for humans
// (`xray-agent listen`, test failure messages). Tree assembly itself lives in trace-tree.ts;
// this file only decides how a trace looks. Pure: returns a string, never writes.

import { assembleTrace, entityName, groupByTrace, NO_TRACE_ID, walkEntities, type TraceNode } from './trace-tree';
import type { XrayCause, XrayDocument, XrayEntity, XrayException } from './xray-document';

export interface FormatOptions {
  /** ANSI colours; the caller decides (only when writing to a TTY). Default false. */
  color?: boolean;
  /** Header says "(continued)": these documents belong to a trace already printed. */
  continuation?: boolean;
  /**
   * id → name of entities printed earlier for the same trace, so a late streamed subsegment
   * whose parent came in an earlier batch can still say where it belongs.
   */
  knownNames?: ReadonlyMap<string, string>;
}

const INDENT = '  ';

/**
 * One block per trace id, in first-seen order:
 *
 *     trace 1-66575740-bd862e3fe1be46a994272793  (2 documents)
 *       orders-api  333.3ms  502  fault  GET https://orders.example.com/orders/17
 *         inventory.internal  200.0ms  503  fault  (remote) GET http://inventory.internal:8080/stock
 *           ! Error: connect ECONNREFUSED  at getStock (src/stock.js:12)
 */
export function formatTrace(docs: readonly XrayDocument[], options: FormatOptions = {}): string {
  const style = styler(options.color === true);
  const blocks: string[] = [];
  for (const [traceId, group] of groupByTrace(docs)) {
    const { roots, streamed, documentCount } = assembleTrace(group);
    const exceptions = indexExceptions(roots);
    const names = new Map<string, string>();
    for (const root of roots) walkEntities(root, (e) => typeof e.id === 'string' && names.set(e.id, entityName(e)));

    const lines: string[] = [];
    const title = traceId === NO_TRACE_ID ? 'trace (no trace_id)' : `trace ${traceId}`;
    const count = `(${documentCount} document${documentCount === 1 ? '' : 's'}${options.continuation ? ', continued' : ''})`;
    lines.push(`${style.bold(title)}  ${style.dim(count)}`);

    for (const root of roots) {
      walkEntities(root, (entity, parent, depth) => {
        const pad = INDENT.repeat(depth + 1);
        let line = pad + entityLine(entity, style);
        if (streamed.has(entity)) line += '  ' + style.dim('~streamed');
        if (!parent) line += rootHint(entity, names, options.knownNames, style);
        lines.push(line);
        for (const ex of exceptionLines(entity.cause, exceptions, style)) lines.push(pad + INDENT + ex);
      });
    }
    blocks.push(lines.join('\n') + '\n');
  }
  return blocks.join('\n');
}

/** `name  duration  [status] [flags]  (namespace) method url` */
function entityLine(e: XrayEntity, style: Styler): string {
  const parts = [style.bold(clean(e.name ?? '?')), style.dim(duration(e))];

  const status = e.http?.response?.status;
  if (typeof status === 'number') parts.push(statusColour(status, style)(String(status)));

  const flags: string[] = [];
  if (e.error === true) flags.push(style.yellow('error'));
  if (e.throttle === true) flags.push(style.magenta('throttle'));
  if (e.fault === true) flags.push(style.red('fault'));
  if (flags.length) parts.push(flags.join(' '));

  const detail: string[] = [];
  if (typeof e.namespace === 'string') detail.push(style.cyan(`(${clean(e.namespace)})`));
  detail.push(...whatItCalled(e));
  if (detail.length) parts.push(detail.join(' '));

  return parts.join('  ');
}

/** The call an entity records: HTTP method + URL, else the AWS operation, else the SQL. */
function whatItCalled(e: XrayEntity): string[] {
  const req = e.http?.request;
  if (req && (req.method !== undefined || req.url !== undefined)) {
    return [req.method, req.url].filter((v) => v !== undefined).map((v) => clean(v));
  }
  const aws = e.aws;
  if (aws && typeof aws.operation === 'string') {
    const resource = aws.table_name ?? aws.queue_url ?? aws.bucket_name;
    return resource === undefined ? [clean(aws.operation)] : [clean(aws.operation), clean(resource)];
  }
  const sql = e.sql;
  if (sql) {
    const what = sql.sanitized_query ?? sql.url ?? sql.connection_string ?? sql.database_type;
    if (what !== undefined) return [clean(what)];
  }
  return [];
}

function duration(e: XrayEntity): string {
  if (typeof e.start_time === 'number' && typeof e.end_time === 'number') {
    return `${((e.end_time - e.start_time) * 1000).toFixed(1)}ms`;
  }
  return e.in_progress === true ? 'in progress' : '?ms';
}

function rootHint(
  e: XrayEntity,
  names: ReadonlyMap<string, string>,
  known: ReadonlyMap<string, string> | undefined,
  style: Styler,
): string {
  if (typeof e.parent_id !== 'string') return '';
  const parentName = names.get(e.parent_id) ?? known?.get(e.parent_id);
  const who = parentName === undefined ? clean(e.parent_id) : `${clean(parentName)} ${clean(e.parent_id)}`;
  // A segment's parent is the caller (upstream header); an orphan subsegment's parent was not
  // received in this batch (earlier batch, Lambda's own segment, or lost).
  return '  ' + style.dim(e.type === 'subsegment' ? `↳ under ${who}` : `← parent ${who}`);
}

function exceptionLines(
  cause: XrayCause | string | undefined,
  index: ReadonlyMap<string, XrayException>,
  style: Styler,
): string[] {
  if (typeof cause === 'string') {
    // Reference to an exception recorded on another entity of the trace (spec §1.11).
    const ex = index.get(cause);
    return [style.red(ex ? `! ${describe(ex)}` : `! exception ${clean(cause)}`) + style.dim(`  (see ${clean(cause)})`)];
  }
  if (!cause || typeof cause !== 'object' || !Array.isArray(cause.exceptions)) return [];
  return cause.exceptions
    .filter((ex) => typeof ex === 'object' && ex !== null)
    .map((ex) => {
      const frame = Array.isArray(ex.stack) ? ex.stack[0] : undefined;
      const where =
        frame && typeof frame === 'object'
          ? `  at ${clean(frame.label ?? 'anonymous')} (${clean(frame.path ?? '?')}:${clean(frame.line ?? '?')})`
          : '';
      return style.red(`! ${describe(ex)}`) + (ex.remote === true ? style.dim(' (remote)') : '') + style.dim(where);
    });
}

function describe(ex: XrayException): string {
  const type = typeof ex.type === 'string' && ex.type !== '' ? clean(ex.type) : undefined;
  const message = ex.message === undefined ? '' : clean(ex.message);
  return type === undefined ? message || '(no message)' : `${type}: ${message}`;
}

function indexExceptions(roots: readonly TraceNode[]): Map<string, XrayException> {
  const index = new Map<string, XrayException>();
  for (const root of roots) {
    walkEntities(root, (e) => {
      const cause = e.cause;
      if (!cause || typeof cause !== 'object' || !Array.isArray(cause.exceptions)) return;
      for (const ex of cause.exceptions) {
        if (ex && typeof ex === 'object' && typeof ex.id === 'string') index.set(ex.id, ex);
      }
    });
  }
  return index;
}

/**
 * Received strings go to a terminal: escape control characters (an ANSI escape in a segment
 * name must not repaint the screen) and cap the length so one huge URL does not bury the tree.
 */
function clean(value: unknown, max = 200): string {
  const s = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  const short = s.length > max ? s.slice(0, max) + '…' : s;
  // eslint-disable-next-line no-control-regex
  return short.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

function statusColour(status: number, style: Styler): (s: string) => string {
  if (status >= 500) return style.red;
  if (status >= 400) return style.yellow;
  return style.green;
}

type Styler = Record<'bold' | 'dim' | 'red' | 'yellow' | 'green' | 'magenta' | 'cyan', (s: string) => string>;

function styler(color: boolean): Styler {
  const sgr = (open: number, close: number) => (s: string) => (color ? `\u001b[${open}m${s}\u001b[${close}m` : s);
  return {
    bold: sgr(1, 22),
    dim: sgr(2, 22),
    red: sgr(31, 39),
    green: sgr(32, 39),
    yellow: sgr(33, 39),
    magenta: sgr(35, 39),
    cyan: sgr(36, 39),
  };
}
