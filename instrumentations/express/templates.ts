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
 * A mount layer is being entered: req.baseUrl is now the real prefix it matched. Mounts the
 * request left since (siblings, or deeper ones it came back out of) are dropped first: those are
 * the ones whose prefix does not enclose this one.
 */
export function enterMount(template: string, req: MountedRequest): void {
  const base = req.baseUrl;
  if (typeof base !== 'string') return;
  let mounts = req[MOUNTS];
  if (mounts === undefined) {
    mounts = [];
    req[MOUNTS] = mounts;
  }
  while (mounts.length > 0 && !encloses(mounts[mounts.length - 1].base, base)) mounts.pop();
  const parent = mounts.length > 0 ? mounts[mounts.length - 1].template : '';
  mounts.push({ base, template: parent + template });
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
