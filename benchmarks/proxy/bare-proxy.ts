// The floor: about the least a Node reverse proxy can do. node:http in, an undici pool out,
// the request body read whole (a streamed one costs undici about twice the CPU, and an AI
// proxy reads it anyway to find the model), the response piped; no routing, logging,
// metrics or retries.
//   node bare-proxy.js UPSTREAM_ORIGIN      (listens on a free port, tells the parent which)
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { pipeline } from 'node:stream';
import { Pool } from 'undici';
import { tell } from '../common/ipc';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer']);

function endToEnd(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  return out;
}

const upstream = new Pool(process.argv[2], { keepAliveTimeout: 60_000 });

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = chunks.length > 0 ? Buffer.concat(chunks) : null;
    upstream.request({ method: req.method as 'GET', path: req.url ?? '/', headers: endToEnd(req.headers), body }).then(
      (up) => {
        res.writeHead(up.statusCode, endToEnd(up.headers));
        pipeline(up.body, res, () => {});
      },
      () => res.writeHead(502).end(),
    );
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => tell('ready', (server.address() as { port: number }).port));
