// NGINX, if installed: one worker, access log on, keep-alive to the backend, and no
// response buffering so SSE events pass as they come.
import { join } from 'node:path';
import { which } from '../../common/children';
import { startDaemon, type Setup } from './setup';

function config(port: number, backend: URL, dir: string): string {
  return `daemon off;
worker_processes 1;
worker_rlimit_nofile 20000;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'nginx-error.log')} warn;
events { worker_connections 10000; }
http {
  access_log ${join(dir, 'nginx.log')};
  keepalive_timeout 65s;
  keepalive_requests 10000000;
  upstream backend {
    server ${backend.host};
    keepalive 256;
    keepalive_requests 10000000;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }
  }
}
`;
}

export const nginx: Setup = {
  name: 'NGINX',
  missing: () => (which('nginx') ? undefined : 'nginx is not installed (apt-get install -y nginx)'),
  start: (env) =>
    startDaemon(env, {
      name: 'nginx',
      command: which('nginx')!,
      configFile: 'nginx.conf',
      config: (port) => config(port, new URL(env.backend), env.dir),
      // -p: temp folders under the scratch folder; -e: no write to the system error log.
      args: (file) => ['-p', env.dir, '-c', file, '-e', join(env.dir, 'nginx-error.log')],
    }),
};
