// Runtime knobs of one simulated backend: failure injection (spec §6) and the engine
// settings that may change while it runs. Set by CLI flags at start, by `POST /admin/config`
// (snake_case JSON, unknown keys rejected) or by `instance.setFailure()`.
// Every duration is in model milliseconds, scaled by --time-scale like everything else.
import { z } from 'zod';

export const FAILURE_TYPES = [
  'rate_limit',
  'invalid_api_key',
  'context_length',
  'server_error',
  'invalid_request',
  'model_not_found',
] as const;
export type FailureType = (typeof FAILURE_TYPES)[number];

/** The injected error of each type: status, OpenAI-style type and message (as llm-d-inference-sim). */
export const FAILURE_ERRORS: Readonly<Record<FailureType, { status: number; type: string; message: string; param?: string }>> = {
  rate_limit: { status: 429, type: 'RateLimitError', message: 'Rate limit reached (injected failure)' },
  invalid_api_key: { status: 401, type: 'AuthenticationError', message: 'Incorrect API key provided (injected failure)' },
  context_length: {
    status: 400,
    type: 'BadRequestError',
    message: "This model's maximum context length was exceeded (injected failure)",
    param: 'messages',
  },
  server_error: { status: 503, type: 'ServiceUnavailableError', message: 'The server is overloaded (injected failure)' },
  invalid_request: { status: 400, type: 'BadRequestError', message: 'Invalid request (injected failure)' },
  model_not_found: { status: 404, type: 'NotFoundError', message: 'The model does not exist (injected failure)', param: 'model' },
};

const fakeMetrics = z
  .strictObject({
    running: z.number().min(0).optional(),
    waiting: z.number().min(0).optional(),
    kv_cache_usage_perc: z.number().min(0).max(1).optional(),
    gpu_util: z.number().min(0).max(100).optional(),
  })
  .nullable();

/** Every knob, with its type; a patch may hold any subset. */
const knobShape = {
  /** % of inference requests answered with an injected error. */
  failure_rate: z.number().min(0).max(100),
  /** Types drawn uniformly for injected errors. */
  failure_types: z.array(z.enum(FAILURE_TYPES)).min(1),
  /** Extra delay before the scheduler sees a request (so before its first token), model ms. */
  stall_first_token_ms: z.number().min(0),
  /** Cut each generation after this many tokens (0 = off). */
  abort_after_tokens: z.number().int().min(0),
  /** How a cut shows: `reset` destroys the socket; `error` sends an SSE error event, then [DONE]. */
  abort_mode: z.enum(['reset', 'error']),
  /** Step-time multiplier (2 = half speed). */
  slowdown: z.number().positive(),
  /** Probability that a /health probe answers 503. */
  health_flap_rate: z.number().min(0).max(1),
  /** 503 for new inference requests and /health while running ones finish. */
  drain: z.boolean(),
  /** /metrics keeps answering the text it had when the freeze began. */
  metrics_freeze: z.boolean(),
  /** Override gauges in /metrics (null = real values). */
  fake_metrics: fakeMetrics,
  /** true: stop listening (connections are refused) until set false; a number: for that many model ms. */
  refuse_connections: z.union([z.boolean(), z.number().positive()]),
  /** Std-dev of the step-time jitter, % (spec: N(1, 0.05)). */
  latency_jitter_pct: z.number().min(0).max(50),
  // engine settings, also changeable at runtime
  max_num_seqs: z.number().int().min(1),
  max_num_batched_tokens: z.number().int().min(1),
  kv_capacity_tokens: z.number().int().min(1).nullable(),
  mode: z.enum(['random', 'echo']),
};

const knobsSchema = z.strictObject(knobShape);
export type Knobs = z.output<typeof knobsSchema>;

/** What POST /admin/config accepts: any knobs, plus the one-shot `crash` (seconds down, model time). */
export const adminPatchSchema = z.strictObject({ ...knobShape, crash: z.number().positive() }).partial();
export type AdminPatch = z.output<typeof adminPatchSchema>;

export const KNOB_DEFAULTS: Readonly<Knobs> = {
  failure_rate: 0,
  failure_types: [...FAILURE_TYPES],
  stall_first_token_ms: 0,
  abort_after_tokens: 0,
  abort_mode: 'reset',
  slowdown: 1,
  health_flap_rate: 0,
  drain: false,
  metrics_freeze: false,
  fake_metrics: null,
  refuse_connections: false,
  latency_jitter_pct: 5,
  max_num_seqs: 1024,
  max_num_batched_tokens: 8192,
  kv_capacity_tokens: null,
  mode: 'random',
};

/** Validate a patch; returns the problems as one line each, or the parsed patch. */
export function parsePatch(body: unknown): { ok: true; patch: AdminPatch } | { ok: false; problems: string[] } {
  const r = adminPatchSchema.safeParse(body);
  if (r.success) return { ok: true, patch: r.data };
  return { ok: false, problems: r.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`) };
}
