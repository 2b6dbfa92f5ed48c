// The contract between the Recorder and any sampler (local rules now, centralized rules later).
// The Recorder asks once per new trace that has no upstream decision (spec §4.1); subsegments
// inherit the answer, so a sampler is never consulted for them.

/**
 * What sampling rules match against (spec §4.1). Every field is optional: a missing or empty
 * attribute matches any rule pattern ("implicit match", see `matchAttribute` in ./wildcard).
 */
export interface SamplingRequest {
  /** Incoming `Host` header, as received (it may include a port). */
  host?: string;
  /** HTTP request method, e.g. `GET`. Matching is case-insensitive. */
  method?: string;
  /** URL path WITHOUT the query string: the caller strips `?…` before asking (spec §4.1 Agent rule). */
  urlPath?: string;
  /** Segment name. Only centralized rules match it; local rules ignore it. */
  serviceName?: string;
  /** The recorder's origin, e.g. `AWS::EC2::Instance`. Only centralized rules match it. */
  serviceType?: string;
}

export interface SamplingDecision {
  sampled: boolean;
  /**
   * Name of the centralized rule that sampled the request; written into the segment (spec §1.6).
   * Local decisions never set it.
   */
  ruleName?: string;
}

export interface Sampler {
  /**
   * Decides for one new trace. Must be cheap and must not throw for any request shape.
   * The returned object may be a shared, frozen instance: read it, never mutate or keep it.
   */
  decide(req: SamplingRequest): SamplingDecision;
  /** Stops background work (timers, sockets), if the sampler has any. */
  close?(): void;
}
