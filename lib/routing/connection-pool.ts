// A backend's upstream connections: undici Clients, one connection each (no pipelining:
// a response may stream for minutes, and a request behind it would wait), the free ones on
// a stack.
//
// Why not undici's Pool: it finds a free Client by scanning all of them, and does it twice
// per request (once to pick one, once to learn whether any is left), so each request costs
// O(connections). An inference backend holds hundreds of long streams at once: at 256
// concurrent requests the scans are ≈ 10k instructions per request, more than Switchyard's
// own per-request work. (undici 8 drops the second scan, nodejs/undici#5149; the first
// stays. akka-http fixed the same O(n) hot spot by tracking idle slots, akka-http#3357.)
// Here taking a free connection is a pop and freeing one a push.
//
// The stack is LIFO: the most recently used connection is reused first (it is the one
// most likely still open), and those at the bottom age out through the keep-alive timeout
// (a Client reconnects by itself when it is used again). Like undici's Pool, there is no
// connection cap and Clients are kept once made, so their number is the peak concurrency.
import { Client, Dispatcher, buildConnector } from 'undici';

export type ConnectionPoolOptions = Omit<Client.Options, 'connect' | 'pipelining'> & {
  connect?: buildConnector.BuildOptions;
};

export class ConnectionPool extends Dispatcher {
  /** Clients with no request in flight; the last one was freed last. */
  private readonly free: Client[] = [];
  /** Every Client, free, busy or closing (those dropped after a connection error are not). */
  private readonly clients = new Set<Client>();
  private readonly options: Client.Options;
  private ending?: Promise<void>;
  /** A closed Client that answers dispatches after close() with undici's ClientClosedError. */
  private refuser?: Client;

  constructor(
    readonly origin: string,
    options: ConnectionPoolOptions = {},
  ) {
    super();
    // One connector for all the Clients, as undici's Pool does (it holds the TLS session cache).
    this.options = { ...options, pipelining: 1, connect: buildConnector({ ...options.connect }) };
  }

  /** Connections open or opening, free or busy. */
  get size(): number {
    return this.clients.size;
  }

  /** Never busy: a request that finds no free connection gets a new one. */
  override dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const client = this.free.pop() ?? this.open();
    // With a request queued or running (pipelining 1) a Client answers false and emits
    // 'drain' once it is free again; it answers false too when it refused the request
    // (closed: the error went to `handler`). True would mean it can take another now.
    if (client.dispatch(opts, handler) && !this.ending) this.free.push(client);
    return true;
  }

  private open(): Client {
    if (this.ending) return (this.refuser ??= refuser(this.origin));
    const client = new Client(this.origin, this.options);
    client.on('drain', () => {
      if (this.clients.has(client) && !this.ending) this.free.push(client);
    });
    // Like undici's Pool (nodejs/undici#3895): a Client whose connection failed is not used
    // again; it cannot be closed in that state, and it holds nothing once its requests failed.
    client.on('connectionError', () => {
      this.clients.delete(client);
      const at = this.free.indexOf(client);
      if (at !== -1) this.free.splice(at, 1);
    });
    this.clients.add(client);
    return client;
  }

  /** Stop taking requests; resolves when the requests in flight have finished and every connection is closed. */
  override close(callback: () => void): void;
  override close(): Promise<void>;
  override close(callback?: () => void): Promise<void> | void {
    this.ending ??= this.each((c) => c.close());
    if (!callback) return this.ending;
    void this.ending.then(callback);
  }

  /** Abort every request in flight with `err` and close every connection at once. */
  override destroy(err: Error | null, callback: () => void): void;
  override destroy(callback: () => void): void;
  override destroy(err: Error | null): Promise<void>;
  override destroy(): Promise<void>;
  override destroy(errOrCallback?: Error | null | (() => void), callback?: () => void): Promise<void> | void {
    const [err, done] = typeof errOrCallback === 'function' ? [null, errOrCallback] : [errOrCallback ?? null, callback];
    this.ending = this.each((c) => c.destroy(err));
    if (!done) return this.ending;
    void this.ending.then(done);
  }

  private async each(end: (c: Client) => Promise<void>): Promise<void> {
    this.free.length = 0;
    await Promise.all([...this.clients].map((c) => end(c).catch(() => undefined)));
  }
}

function refuser(origin: string): Client {
  const client = new Client(origin);
  void client.close();
  return client;
}
