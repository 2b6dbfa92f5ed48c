// Route templates with mount prefixes for express routing (./routing calls these).
//
// express keeps no template of a mount: express 4 layers hold only the compiled regexp, router
// 2.0–2.2 layers nothing at all, and req.baseUrl is the real prefix (`/orgs/acme`), not
// `/orgs/:org`. So:
// - tagMounts: Router#use stores its path, as a template, on the layers it added;
// - enterMount: when such a layer is entered, the request notes (real prefix, template prefix),
//   its template joined to the template of the mount enclosing it;
// - routeTemplate: a matched route's template is the template noted for the current
//   req.baseUrl, plus the route's own path.
// Everything is keyed by req.baseUrl, which express itself sets on entering a mount and restores
// on leaving it, so no `next` needs wrapping to notice that a request left a router.

/** On a layer added by Router#use with a path other than '/': its path as a template. */
const MOUNT_PATH = Symbol('xray.express.mountPath');
/** On a request: the mounts it entered, outermost first. */
const MOUNTS = Symbol('xray.express.mounts');

interface Mount {
  /** req.baseUrl inside the mount: the real path matched so far (no trailing slash). */
  readonly base: string;
  /** The same prefix as a template: every enclosing mount path joined. */
  readonly template: string;
}

export interface TaggedLayer {
  [MOUNT_PATH]?: string;
}

export interface MountedRequest {
  baseUrl?: unknown;
  [MOUNTS]?: Mount[];
}

/** Stores the mount path template given to one use() call on the layers it added (stack[from…]). */
export function tagMounts(stack: unknown[], from: number, firstArgument: unknown): void {
  const template = mountTemplate(firstArgument);
  if (template === undefined) return;
  for (let i = from; i < stack.length; i++) {
    const layer = stack[i];
    if (layer !== null && typeof layer === 'object') (layer as TaggedLayer)[MOUNT_PATH] = template;
  }
}

/** The mount path template of a layer, if it was added by use() with a path. */
export function mountPathOf(layer: TaggedLayer): string | undefined {
  return layer[MOUNT_PATH];
}

/**
 * A mount layer is being entered: req.baseUrl is now the real prefix it matched, the prefix of the
 * router holding the layer followed by `matched` (the part the layer matched, its `path`). Mounts
 * the request left since (siblings, or deeper ones it came back out of) are dropped first: those
 * above the router holding this layer. Without `matched`, the mounts whose prefix does not enclose
 * this one are (a sibling such as `app.use('/api', auth)` before `app.use('/api/users', …)` then
 * stays, as it encloses the path).
 */
export function enterMount(template: string, req: MountedRequest, matched?: unknown): void {
  const base = req.baseUrl;
  if (typeof base !== 'string') return;
  let mounts = req[MOUNTS];
  if (mounts === undefined) {
    mounts = [];
    req[MOUNTS] = mounts;
  }
  const routerBase = typeof matched === 'string' ? prefixBefore(base, matched) : prefixBeforeTemplate(base, template);
  if (routerBase !== undefined) {
    while (mounts.length > 0 && mounts[mounts.length - 1].base !== routerBase) mounts.pop();
  } else {
    while (mounts.length > 0 && !encloses(mounts[mounts.length - 1].base, base)) mounts.pop();
  }
  // A router mounted by a layer use() did not add: its real prefix is the best we know.
  const parent = mounts.length > 0 ? mounts[mounts.length - 1].template : (routerBase ?? '');
  mounts.push({ base, template: parent + template });
}

/**
 * `base` without as many path segments at its end as `template` has, for a template whose every
 * segment matches exactly one (literal text and `:param`s): router 2.3+ (express 5) keeps what a
 * layer matched to itself. Undefined for anything else (regexps, wildcards, optional parts).
 */
function prefixBeforeTemplate(base: string, template: string): string | undefined {
  if (!/^(\/[^/*?()[\]{}+,]+)+$/.test(template)) return undefined;
  let end = base.length;
  for (let n = template.split('/').length - 1; n > 0; n--) {
    end = base.lastIndexOf('/', end - 1);
    if (end < 0) return undefined;
  }
  return base.slice(0, end);
}

/** `base` without the `matched` part at its end (express drops one trailing slash of it), if it ends so. */
function prefixBefore(base: string, matched: string): string | undefined {
  const part = matched.endsWith('/') ? matched.slice(0, -1) : matched;
  return base.endsWith(part) ? base.slice(0, base.length - part.length) : undefined;
}

/** The full template of a route that matched `req` with `path` (the route's own path). */
export function routeTemplate(path: unknown, req: MountedRequest): string | undefined {
  const template = pathTemplate(path);
  return template === undefined ? undefined : joinTemplate(mountPrefix(req), template);
}

/**
 * The mount path given to use(), as a template without trailing slash; undefined for '/' (or no
 * path). Same reading of the first argument as express: a function, or an array whose first
 * (nested) element is a function, means "no path".
 */
function mountTemplate(first: unknown): string | undefined {
  let arg = first;
  while (Array.isArray(arg) && arg.length !== 0) arg = arg[0];
  if (typeof arg === 'function') return undefined;
  const template = pathTemplate(first);
  if (template === undefined) return undefined;
  const trimmed = template.replace(/\/+$/, '');
  return trimmed.length > 0 ? trimmed : undefined;
}

/**
 * A route or mount path as written: strings as they are, regexps as their source, arrays
 * comma-joined (which element matched is not known without matching again).
 */
function pathTemplate(path: unknown): string | undefined {
  if (typeof path === 'string') return path;
  if (path instanceof RegExp) return String(path);
  if (Array.isArray(path)) {
    const parts = path.map(pathTemplate).filter((p): p is string => p !== undefined);
    return parts.length > 0 ? parts.join(',') : undefined;
  }
  return undefined;
}

/** `outer` is a shorter path prefix of `inner`, ending at a segment boundary. */
function encloses(outer: string, inner: string): boolean {
  return inner.length > outer.length && inner.startsWith(outer) && (outer.length === 0 || inner.charCodeAt(outer.length) === 47);
}

function mountPrefix(req: MountedRequest): string {
  const base = req.baseUrl;
  if (typeof base !== 'string' || base.length === 0) return '';
  const mounts = req[MOUNTS];
  if (mounts !== undefined) {
    for (let i = mounts.length - 1; i >= 0; i--) if (mounts[i].base === base) return mounts[i].template;
  }
  // Mounted through a layer use() did not add (pushed onto the stack by hand): the real prefix is
  // the best we know.
  return base;
}

function joinTemplate(prefix: string, path: string): string {
  if (prefix.length === 0) return path;
  // `router.get('/')` under `/api` answers `/api`.
  if (path === '/' || path.length === 0) return prefix;
  return path.charCodeAt(0) === 47 ? prefix + path : `${prefix}/${path}`;
}
