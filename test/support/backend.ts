// A programmable upstream for proxy tests: a real node:http server on 127.0.0.1:0 that
// records every request (headers as received, body bytes) and lets the test either answer
// through a handler or take hold of the response object and write to it step by step.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface Recorded {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  rawHeaders: string[];
  body: Buffer;
  /** Resolves when the client side of this request's socket closed. */
  closed: Promise<number>;
  /** Body size, when the backend counts bytes instead of keeping them (`streamBody`). */
  bodyLength?: number;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer, recorded: Recorded) => void | Promise<void>;

export interface TestBackend {
  url: string;
  port: number;
  server: Server;
  requests: Recorded[];
  /** Bytes received on all sockets, raw (proof that nothing reached the backend). */
  bytesReceived(): number;
  connections(): number;
  setHandler(h: Handler): void;
  /** The next request's response, held open for the test to drive (with `hold` mode). */
  nextHeld(): Promise<{ req: IncomingMessage; res: ServerResponse; recorded: Recorded }>;
  hold(): void;
  close(): Promise<void>;
}

const closedAt = new WeakMap<Socket, Promise<number>>();
/** When the socket closed (ms since epoch); one listener per socket, however many requests. */
function socketClosed(socket: Socket): Promise<number> {
  let p = closedAt.get(socket);
  if (!p) {
    p = new Promise((r) => socket.once('close', () => r(Date.now())));
    closedAt.set(socket, p);
  }
  return p;
}

export const echo: Handler = (req, res, body) => {
  const payload = JSON.stringify({ method: req.method, url: req.url, headers: req.headers, bodyLength: body.length });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
  res.end(payload);
};

export async function startBackend(handler: Handler = echo, opts: { streamBody?: boolean } = {}): Promise<TestBackend> {
  let current = handler;
  let holding = false;
  const held: { req: IncomingMessage; res: ServerResponse; recorded: Recorded }[] = [];
  const heldWaiters: ((h: (typeof held)[number]) => void)[] = [];
  const requests: Recorded[] = [];
  const sockets = new Set<Socket>();
  let bytes = 0;
  let connections = 0;

  const server = createServer(async (req, res) => {
    const started = Date.now();
    const closed = socketClosed(req.socket).then((at) => at - started);
    const recorded: Recorded = { method: req.method!, url: req.url!, headers: req.headers, rawHeaders: req.rawHeaders, body: Buffer.alloc(0), closed };
    requests.push(recorded);
    if (opts.streamBody) {
      let n = 0;
      req.on('data', (c: Buffer) => (n += c.length));
      await new Promise((r) => req.on('end', r));
      recorded.bodyLength = n;
    } else {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      recorded.body = Buffer.concat(chunks);
    }
    // Active health checks of the proxy are answered at once, never held for the test.
    if (holding && req.url !== '/health') {
      const h = { req, res, recorded };
      const w = heldWaiters.shift();
      if (w) w(h);
      else held.push(h);
      return;
    }
    await current(req, res, recorded.body, recorded);
  });
  server.on('connection', (s: Socket) => {
    connections++;
    sockets.add(s);
    s.on('data', (d: Buffer) => (bytes += d.length));
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    requests,
    bytesReceived: () => bytes,
    connections: () => connections,
    setHandler: (h) => (current = h),
    hold: () => (holding = true),
    nextHeld: () => {
      const h = held.shift();
      return h ? Promise.resolve(h) : new Promise((r) => heldWaiters.push(r));
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
