// What web framework instrumentations report on top of the HTTP server segment: the route
// template a request matched (annotation `http_route`, spec §1.8; the recorded URL stays the real
// path) and errors the framework caught and turned into a response. The flags of such an error
// come from the final status when the response ends (DESIGN §6.3): a 404 from a NotFound error is
// `error`, a 500 is `fault`, an error the app answered with 200 is only a cause.

import type { Entity, Segment, Subsegment } from '../model/entity';
import type { Recorder } from '../recorder';
import { active } from '../context';

export interface WebFrameworkOptions {
  /** Record the matched route as the `http_route` annotation. */
  routeAnnotation: boolean;
  /** One subsegment per middleware/handler call (off by default: noisy and not free). */
  middlewareSubsegments: boolean;
}

export const ROUTE_ANNOTATION = 'http_route';

export class WebFrameworkSpans {
  constructor(
    private readonly recorder: Recorder,
    private readonly options: WebFrameworkOptions,
  ) {}

  get middlewareSubsegments(): boolean {
    return this.options.middlewareSubsegments;
  }

  /**
   * A subsegment for one middleware or handler call, when middlewareSubsegments is on (undefined
   * otherwise, or when untraced). The caller closes it when the middleware hands on or finishes.
   */
  middleware(name: string, entity: Entity | undefined = active()): Subsegment | undefined {
    if (!this.options.middlewareSubsegments || entity === undefined) return undefined;
    return this.recorder.startSubsegment(`middleware ${name || 'anonymous'}`, entity);
  }

  /** The request's segment (the current entity may be a subsegment inside it). */
  segmentOf(entity: Entity | undefined = active()): Segment | undefined {
    return entity?.segment;
  }

  /** Sets the matched route template; a later (more specific) match replaces an earlier one. */
  route(template: string, entity: Entity | undefined = active()): void {
    const segment = entity?.segment;
    if (segment === undefined || !segment.sampledFlag || !this.options.routeAnnotation) return;
    if (typeof template !== 'string' || template.length === 0) return;
    (segment.annotations ??= {})[ROUTE_ANNOTATION] = template.length > 250 ? template.slice(0, 250) : template;
  }

  /** An error the framework caught and turned into a response: cause only, flags from the status. */
  error(err: unknown, entity: Entity | undefined = active()): void {
    const segment = entity?.segment;
    if (segment === undefined || !segment.sampledFlag || err === undefined || err === null) return;
    segment.addCause(err);
  }
}
