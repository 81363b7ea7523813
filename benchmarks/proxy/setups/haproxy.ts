// HAProxy, if installed: one thread (like Node's one event loop, and the machine's other
// core stays for the load generator and the backend), access log on, keep-alive both ways.
// `http-no-delay`, as for any streaming API: without it HAProxy sends with MSG_MORE and
// the kernel holds a stream's small SSE events for up to 200 ms.
import { join } from 'node:path';
import { which } from '../../common/children';
import { startDaemon, type Setup } from './setup';

function config(port: number, backend: URL, dir: string): string {
  return `global
  nbthread 1
  maxconn 8000
  pidfile ${join(dir, 'haproxy.pid')}
  log stdout format raw local0 info
defaults
  mode http
  log global
  option httplog
  option http-no-delay
  timeout connect 2s
  timeout client 65s
  timeout server 120s
  timeout http-keep-alive 65s
frontend bench
  bind 127.0.0.1:${port}
  default_backend upstream
backend upstream
  server b1 ${backend.host}
`;
}

export const haproxy: Setup = {
  name: 'HAProxy',
  missing: () => (which('haproxy') ? undefined : 'haproxy is not installed (apt-get install -y haproxy)'),
  start: (env) =>
    startDaemon(env, {
      name: 'haproxy',
      command: which('haproxy')!,
      configFile: 'haproxy.cfg',
      config: (port) => config(port, new URL(env.backend), env.dir),
      // -db: stay in the foreground, so the process is ours to watch and stop.
      args: (file) => ['-db', '-f', file],
    }),
};
