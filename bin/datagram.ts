// Parsing one UDP datagram the way the X-Ray daemon does (spec §2.1), so the test daemon and
// `xray-agent listen` accept and reject exactly what a real daemon would. Pure: no I/O.

import type { XrayDocument } from './xray-document';

export interface DatagramHeader {
  format: string;
  version: number;
  [key: string]: unknown;
}

export type ParsedDatagram = { header: DatagramHeader; doc: XrayDocument } | { error: string };

const NEWLINE = 0x0a;

// fatal: true so a body that is not valid UTF-8 is reported rather than silently repaired with
// U+FFFD (the service expects UTF-8; a repaired body would hide an encoding bug in the agent).
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function parseDatagram(buf: Uint8Array): ParsedDatagram {
  const nl = buf.indexOf(NEWLINE);
  // Same wording as the daemon's counter for both cases: no separator, or nothing after it.
  if (nl < 0) return { error: 'missing header or segment: no newline after the header' };
  if (nl === buf.length - 1) return { error: 'missing header or segment: empty body after the header' };

  let headerText: string;
  let bodyText: string;
  try {
    headerText = utf8.decode(buf.subarray(0, nl));
    bodyText = utf8.decode(buf.subarray(nl + 1));
  } catch {
    return { error: 'invalid UTF-8' };
  }

  let header: unknown;
  try {
    header = JSON.parse(headerText);
  } catch {
    return { error: `invalid header: not JSON: ${preview(headerText)}` };
  }
  if (!isPlainObject(header)) return { error: `invalid header: not a JSON object: ${preview(headerText)}` };
  // Daemon rule: format equals "json" case-insensitively and version is the number 1.
  if (typeof header.format !== 'string' || header.format.toLowerCase() !== 'json') {
    return { error: `invalid header: format must be "json": ${preview(headerText)}` };
  }
  if (header.version !== 1) return { error: `invalid header: version must be the number 1: ${preview(headerText)}` };

  let doc: unknown;
  try {
    doc = JSON.parse(bodyText);
  } catch (err) {
    return { error: `body is not valid JSON (${(err as Error).message}): ${preview(bodyText)}` };
  }
  // The daemon forwards any body, but the service and the OTel receiver only take one object
  // per document and the spec forbids arrays (§1.1), so anything else is an agent bug.
  if (!isPlainObject(doc)) return { error: `body is not a JSON object: ${preview(bodyText)}` };

  return { header: header as DatagramHeader, doc: doc as XrayDocument };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A short excerpt for the rejection reason. Control characters are escaped because the reason
 * is printed to a terminal by `xray-agent listen` (received bytes must not drive the terminal).
 */
function preview(text: string, max = 80): string {
  const short = text.length > max ? text.slice(0, max) + '…' : text;
  // eslint-disable-next-line no-control-regex
  return short.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
