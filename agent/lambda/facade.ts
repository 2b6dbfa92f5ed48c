// AWS Lambda: the function's segment is created and sent by Lambda itself. The agent stands in a
// "facade" for it (spec §6.5): a segment with Lambda's trace id and segment id, never sent, under
// which every subsegment of the invocation is sent on its own as soon as it completes.
// The invocation's trace header comes from the invoke store (Lambda Managed Instances run
// invocations concurrently and keep one header per invocation there), else from _X_AMZN_TRACE_ID,
// which the runtime rewrites for every invocation. Outside an invocation (init phase) there is no
// header, so nothing is recorded there (DESIGN §6.20).

import { Segment, type Tracer } from '../model/entity';
import { parseTraceHeader } from '../model/trace-header';
import { newEntityId } from '../model/ids';

interface InvokeStore {
  getXRayTraceId?(): string | undefined;
}

/** Facades kept for recent headers; concurrent invocations each have their own. */
const MAX_FACADES = 64;

export function isLambda(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.LAMBDA_TASK_ROOT || env.AWS_LAMBDA_FUNCTION_NAME);
}

export class LambdaFacades {
  private readonly byHeader = new Map<string, Segment>();

  constructor(private readonly tracer: Tracer) {}

  /** The raw trace header of the invocation running now, if any. */
  currentHeader(): string | undefined {
    try {
      const store = (globalThis as { awslambda?: { InvokeStore?: InvokeStore } }).awslambda?.InvokeStore;
      const fromStore = store?.getXRayTraceId?.();
      if (typeof fromStore === 'string' && fromStore.length > 0) return fromStore;
    } catch {
      // a runtime without a working invoke store: fall back to the environment
    }
    const fromEnv = process.env._X_AMZN_TRACE_ID;
    return fromEnv !== undefined && fromEnv.length > 0 ? fromEnv : undefined;
  }

  /** The facade of the current invocation, built once per header value. */
  current(): Segment | undefined {
    const raw = this.currentHeader();
    if (raw === undefined) return undefined;
    let facade = this.byHeader.get(raw);
    if (facade === undefined) {
      facade = this.build(raw);
      if (facade === undefined) return undefined;
      if (this.byHeader.size >= MAX_FACADES) this.byHeader.clear();
      this.byHeader.set(raw, facade);
    }
    return facade;
  }

  private build(raw: string): Segment | undefined {
    const header = parseTraceHeader(raw);
    if (header?.root === undefined) return undefined;
    // Root only (tracing not active, an upstream passed a header through): keep the trace connected
    // downstream with Sampled=0 and record nothing (DESIGN §6.21). Sampled missing: unsampled too.
    const sampled = header.parent !== undefined && header.sampled === '1';
    const facade = new Segment({
      name: 'facade',
      id: header.parent ?? newEntityId(),
      traceId: header.root,
      sampled,
      tracer: this.tracer,
      headerExtra: header.extra,
    });
    facade.facade = true;
    return facade;
  }
}
