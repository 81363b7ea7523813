// The backend every setup is measured against, in its own process:
//   node backend.js EVENTS INTERVAL_MS
// POST /v1/chat/completions answers a small JSON completion, or with "stream":true an SSE
// stream of EVENTS events (the last is [DONE]) one every INTERVAL_MS, like tokens. It also
// answers what Switchyard polls (/health, /metrics, /v1/models) so its features stay on.
import { createServer, type ServerResponse } from 'node:http';
import { tell } from '../common/ipc';
import { COMPLETION, DONE_EVENT, STREAM_MARKER, TOKEN_EVENT } from './workload';

const events = Number(process.argv[2]);
const intervalMs = Number(process.argv[3]);

const MODELS = JSON.stringify({ object: 'list', data: [{ id: 'bench-model', object: 'model', owned_by: 'vllm' }] });
const METRICS = 'vllm:num_requests_running{model_name="bench-model"} 0\nvllm:num_requests_waiting{model_name="bench-model"} 0\n';
const GETS: Record<string, [string, string]> = {
  '/health': ['text/plain', ''],
  '/metrics': ['text/plain; version=0.0.4', METRICS],
  '/v1/models': ['application/json', MODELS],
};

function stream(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
  let sent = 1;
  res.write(TOKEN_EVENT);
  const timer = setInterval(() => {
    if (++sent < events) return void res.write(TOKEN_EVENT);
    clearInterval(timer);
    res.end(DONE_EVENT);
  }, intervalMs);
  res.on('close', () => clearInterval(timer));
}

const server = createServer((req, res) => {
  const get = req.method === 'GET' ? GETS[req.url ?? ''] : undefined;
  if (get) return void res.writeHead(200, { 'content-type': get[0] }).end(get[1]);
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    if (Buffer.concat(chunks).includes(STREAM_MARKER)) return stream(res);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': COMPLETION.length }).end(COMPLETION);
  });
});
// Idle keep-alive connections must outlive the idle-connection scenario.
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => tell('ready', (server.address() as { port: number }).port));
