// A Recorder in the test process, with a transport that keeps every datagram: for tests of span
// builders and instrumentations driven directly (no child process, no UDP).

import { Recorder, type RecorderOptions, type Transport } from '../../agent/recorder';
import { DATAGRAM_HEADER } from '../../agent/export/serializer';
import { collectInto } from './written-datagram';

export interface InProcessRecorder {
  recorder: Recorder;
  /** Raw datagrams (header line + document), in send order. */
  datagrams: string[];
  /** The documents sent so far, parsed. */
  documents(): Array<Record<string, any>>;
}

/** The options a recorder in a test starts from; tests override what they are about. */
export const TEST_RECORDER_OPTIONS: RecorderOptions = {
  serviceName: 'svc',
  contextMissing: 'IGNORE_ERROR',
  streamingThreshold: 100,
  maxStackFrames: 10,
  maxDatagramBytes: 64512,
  segmentFlushTimeoutMs: 30000,
  maxOpenSegments: 1000,
  maxSubsegmentsPerSegment: 1000,
};

export function inProcessRecorder(sampled = true, options: Partial<RecorderOptions> = {}): InProcessRecorder {
  const datagrams: string[] = [];
  const transport: Transport = { sendWritten: collectInto(datagrams), flush: () => Promise.resolve() };
  const recorder = new Recorder({ ...TEST_RECORDER_OPTIONS, ...options }, { decide: () => ({ sampled }) }, transport);
  return {
    recorder,
    datagrams,
    documents: () => datagrams.map((d) => JSON.parse(d.slice(DATAGRAM_HEADER.length)) as Record<string, any>),
  };
}
