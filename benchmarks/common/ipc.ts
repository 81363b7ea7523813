// Messages between a benchmark runner and the child processes it forks: `{ kind, value }`.
import type { ChildProcess } from 'node:child_process';

interface Message {
  kind: string;
  value: unknown;
}

function isMessage(m: unknown, kind: string): m is Message {
  return typeof m === 'object' && m !== null && (m as Message).kind === kind;
}

/** In a child: tell the parent something (e.g. 'ready' with a port, 'result' with figures). */
export function tell(kind: string, value: unknown = null): void {
  process.send?.({ kind, value } satisfies Message);
}

/** In a child: wait for the parent to say `kind`. */
export function told(kind: string): Promise<unknown> {
  return new Promise((resolve) => {
    const on = (m: unknown) => {
      if (!isMessage(m, kind)) return;
      process.off('message', on);
      resolve(m.value);
    };
    process.on('message', on);
  });
}

/** In the parent: tell a child something (e.g. 'close'). */
export function say(child: ChildProcess, kind: string, value: unknown = null): void {
  child.send({ kind, value } satisfies Message);
}

/** In the parent: the value of the child's next `kind` message; fails if it exits or takes too long. */
export function expect<T>(child: ChildProcess, kind: string, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | undefined, value?: T) => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(value as T);
    };
    const onMessage = (m: unknown) => {
      if (isMessage(m, kind)) done(undefined, m.value as T);
    };
    const onExit = (code: number | null, signal: string | null) =>
      done(new Error(`pid ${child.pid} exited (${signal ?? code}) before '${kind}'`));
    const timer = setTimeout(() => done(new Error(`pid ${child.pid}: no '${kind}' within ${timeoutMs} ms`)), timeoutMs);
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}
