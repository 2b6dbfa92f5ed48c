// The X-Amzn-Trace-Id line in a message head Node has already built. Node keeps the head of an
// outgoing HTTP message as one string, `_header` ("<start line>\r\n<name>: <value>\r\n…\r\n\r\n"),
// until its first write sends it:
//   - a server response's, built by writeHead (server.ts adds the line there: cheaper than
//     setHeader before writeHead);
//   - a client request's, built at once by the ClientRequest constructor when the caller passes its
//     headers as a raw array or sets an Expect header (client.ts). setHeader then throws, and
//     getHeader sees none of those headers: they are read and set in the text.
// Node's parser refuses CR and LF in header values, and every value written here is a trace header
// the agent formatted from ids and an incoming header's fields: no line can be injected.

/** The head of `msg` when Node built it as expected (it ends with an empty line); otherwise undefined. */
export function builtHead(msg: { _header?: unknown }): string | undefined {
  const head = msg._header;
  return typeof head === 'string' && head.endsWith('\r\n\r\n') ? head : undefined;
}

const TRACE_HEADER_LINE = /\r\nx-amzn-trace-id[ \t]*:[ \t]*([^\r\n]*)/i;
const CONTENT_LENGTH_LINE = /\r\ncontent-length[ \t]*:[ \t]*([0-9]+)[ \t]*\r\n/i;

/** The value of the head's X-Amzn-Trace-Id line (the first, if several), or undefined. */
export function traceHeaderIn(head: string): string | undefined {
  return TRACE_HEADER_LINE.exec(head)?.[1];
}

/** Whether the head has an X-Amzn-Trace-Id line. */
export function hasTraceHeader(head: string): boolean {
  return TRACE_HEADER_LINE.test(head);
}

/**
 * The value of the head's Content-Length line, or undefined. The head is what went on the wire: it
 * has the length however it got there (setHeader, writeHead's headers as an object or an array,
 * or Node's own for a body given whole to end()); getHeader sees only the first of those.
 */
export function contentLengthIn(head: string): number | undefined {
  const digits = CONTENT_LENGTH_LINE.exec(head)?.[1];
  if (digits === undefined || digits.length > 15) return undefined;
  return Number(digits);
}

/** `head` with an X-Amzn-Trace-Id line added last (for a head that has none). */
export function withTraceHeaderAdded(head: string, value: string): string {
  return head.slice(0, -2) + 'X-Amzn-Trace-Id: ' + value + '\r\n\r\n';
}

/** `head` with its X-Amzn-Trace-Id line set to `value`: the existing line replaced, or one added. */
export function withTraceHeaderSet(head: string, value: string): string {
  if (!hasTraceHeader(head)) return withTraceHeaderAdded(head, value);
  return head.replace(TRACE_HEADER_LINE, () => '\r\nX-Amzn-Trace-Id: ' + value);
}
