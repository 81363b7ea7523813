// The floor: about the least a Node reverse proxy can do. node:http in; out through an
// undici pool's dispatch() with a bare handler (no Readable, no promise per request); the
// request body read whole, as an AI proxy does to find the model (streaming a small one
// into undici measured ≈ 40% more CPU per request); the response relayed chunk by chunk
// with backpressure (stream.pipeline() measured ≈ 2× the CPU). No routing, logging,
// metrics or retries.
//   node bare-proxy.js UPSTREAM_ORIGIN      (listens on a free port, tells the parent which)
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import { Pool, type Dispatcher } from 'undici';
import { tell } from '../common/ipc';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer']);

function endToEnd(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  return out;
}

const relay = (res: ServerResponse): Dispatcher.DispatchHandler => ({
  onRequestStart: () => {}, // its presence selects undici's controller-based handler API
  onResponseStart: (_c, status, headers) => void res.writeHead(status, endToEnd(headers)),
  onResponseData: (c, chunk) => void (res.write(chunk) || (c.pause(), res.once('drain', () => c.resume()))),
  onResponseEnd: () => void res.end(),
  onResponseError: () => void (res.headersSent ? res.destroy() : res.writeHead(502).end()),
});

const upstream = new Pool(process.argv[2], { keepAliveTimeout: 60_000 });

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = chunks.length > 0 ? Buffer.concat(chunks) : null;
    upstream.dispatch({ method: req.method as 'GET', path: req.url ?? '/', headers: endToEnd(req.headers), body }, relay(res));
  });
});
server.keepAliveTimeout = 60_000;
process.once('SIGTERM', () => process.exit(0)); // a clean exit, so that --cpu-prof writes its profile
server.listen(0, '127.0.0.1', () => tell('ready', (server.address() as { port: number }).port));
