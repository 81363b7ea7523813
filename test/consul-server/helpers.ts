// Shared plumbing for the fake-Consul conformance tests: start/stop per test, raw HTTP
// calls that keep status, headers and the exact body, and an async queue for Watch events.
import type { Test } from 'tap';
import { ConsulTestServer, type ConsulTestServerOptions } from '../support/consul/server';

export async function startConsul(t: Test, opts: ConsulTestServerOptions = {}): Promise<ConsulTestServer> {
  const consul = await ConsulTestServer.start(opts);
  t.teardown(() => consul.close());
  return consul;
}

export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  /** Milliseconds from sending to the complete body. */
  ms: number;
  index: number | undefined;
  json<T = any>(): T;
}

export async function call(base: string, path: string, init: RequestInit = {}): Promise<RawResponse> {
  const started = performance.now();
  const res = await fetch(base + path, init);
  const text = await res.text();
  const idx = res.headers.get('x-consul-index');
  return {
    status: res.status,
    headers: res.headers,
    text,
    ms: performance.now() - started,
    index: idx === null ? undefined : Number(idx),
    json: () => JSON.parse(text),
  };
}

/** Collects events and hands them out in order, waiting when none is queued. */
export class EventQueue<T> {
  private readonly items: T[] = [];
  private readonly waiters: Array<(v: T) => void> = [];

  push = (v: T): void => {
    const w = this.waiters.shift();
    if (w) w(v);
    else this.items.push(v);
  };

  next(timeoutMs = 10_000): Promise<T> {
    const v = this.items.shift();
    if (v !== undefined) return Promise.resolve(v);
    return new Promise((resolve, reject) => {
      const waiter = (x: T) => {
        clearTimeout(timer);
        resolve(x);
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`no event within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  get pending(): number {
    return this.items.length;
  }
}

/** Port of a server URL, for the npm client's `port` option. */
export function portOf(url: string): number {
  return Number(new URL(url).port);
}
