// Route table: exact paths or prefixes (the rest of the decoded path is the resource name),
// 404 `Invalid URL path…` for unknown /v1 paths and 405 with `Allow` for a wrong method,
// as agent/http.go does.
import type { Handler } from './context';
import { ConsulError } from './http';

export interface Route {
  path: string;
  /** The path is a prefix; what follows it is passed to the handler. */
  prefix?: boolean;
  methods: readonly string[];
  handle: Handler;
}

export function findRoute(routes: readonly Route[], method: string, path: string): { route: Route; rest: string } {
  for (const route of routes) {
    const hit = route.prefix ? path.startsWith(route.path) : path === route.path;
    if (!hit) continue;
    if (!route.methods.includes(method)) {
      throw new ConsulError(405, `method ${method} not allowed`, { Allow: ['OPTIONS', ...route.methods].join(',') });
    }
    return { route, rest: route.prefix ? path.slice(route.path.length) : '' };
  }
  throw new ConsulError(404, 'Invalid URL path: not a recognized HTTP API endpoint');
}
