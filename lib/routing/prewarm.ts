// Pre-warming hot models (pool `cold_start.prewarm`): after each scrape of a backend, if it
// serves a pre-warm model that /v1/models says is not loaded, send it a one-token
// completion so the engine loads the model before real traffic needs it. At most one
// warm-up per backend and model is in flight, and a failed one is not repeated for
// `hold_timeout` (a model load takes tens of seconds; hammering would not speed it up).
import { request } from 'undici';
import type { Logger } from 'pino';
import type { Backend } from './backend';

export class Prewarmer {
  private readonly pending = new Set<string>();
  private readonly notBefore = new Map<string, number>();

  constructor(
    private readonly models: readonly string[],
    private readonly holdTimeout: number,
    private readonly logger: Logger,
  ) {}

  /** Called after a scrape of `b`; starts the warm-ups it needs. */
  check(b: Backend, now = Date.now()): void {
    const loaded = b.signals.loadedModels;
    if (!loaded || b.draining || !b.signalsFresh(now)) return;
    for (const model of this.models) {
      if (loaded.has(model) || (b.servesModels.size > 0 && !b.servesModels.has(model))) continue;
      const key = `${b.id}\0${model}`;
      if (this.pending.has(key) || (this.notBefore.get(key) ?? 0) > now) continue;
      this.pending.add(key);
      this.logger.info({ backend: b.id, model }, 'pre-warming model');
      void this.warm(b, model).then(
        () => this.notBefore.delete(key),
        (err: Error) => {
          this.notBefore.set(key, Date.now() + this.holdTimeout);
          this.logger.warn({ backend: b.id, model, err: err.message }, 'pre-warm failed');
        },
      ).finally(() => this.pending.delete(key));
    }
  }

  forget(id: string): void {
    for (const key of [...this.notBefore.keys()]) if (key.startsWith(`${id}\0`)) this.notBefore.delete(key);
  }

  private async warm(b: Backend, model: string): Promise<void> {
    const res = await request(`${b.origin}/v1/completions`, {
      method: 'POST',
      dispatcher: b.dispatcher,
      headers: { 'content-type': 'application/json', 'x-switchyard-prewarm': '1' },
      body: JSON.stringify({ model, prompt: 'warm up', max_tokens: 1 }),
      headersTimeout: this.holdTimeout,
      bodyTimeout: this.holdTimeout,
    });
    await res.body.dump();
    if (res.statusCode >= 400) throw new Error(`status ${res.statusCode}`);
  }
}
