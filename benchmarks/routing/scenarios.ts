// The named scenarios: a workload, how it is paced, and what each one is meant to show.
// Sizes are request counts and model time, the smallest that still show the effect on this
// machine. The calibrated rate is in requests per model second; the client paces in real time.
import type { DriveLimits, Pace } from './client';
import { multiTurnChat, noPrefix, sharedPrefix, type Workload } from './workloads';

export interface Context {
  timeScale: number;
  /** Requests per model second the fleet sustains on the chat workload under round-robin (calibrate.ts). */
  chatCapacity?: number;
}

export interface Planned {
  workload: Workload;
  pace: Pace;
  limits: DriveLimits;
  warmupMs?: number;
}

export interface Scenario {
  name: string;
  title: string;
  /** Needs `Context.chatCapacity`. */
  needsCapacity?: boolean;
  /** Backends slowed down for the whole scenario (index → step-time multiplier). */
  slow?: Record<number, number>;
  /** Strategies to run when none is named (default: the eight presets). */
  strategies?: readonly string[];
  /** Also run this strategy a second time, as "<name> again": the run-to-run noise. */
  again?: string;
  /** Every call gives the same load (lengths, order, arrivals); the salt changes its words, so nothing is cached from an earlier run. */
  plan(ctx: Context, salt: number): Planned;
}

/** Real ms of a model duration, with room for the stragglers. */
const limits = (ctx: Context, count: number, modelMs: number): DriveLimits => {
  const real = modelMs * ctx.timeScale;
  return { count, maxMs: real, hardMs: real * 3 + 60_000 };
};

/** 32 groups, half the published 64: 16 prompts per group kept, since round-robin's hit rate depends on it. */
const W1 = { groups: 32, perGroup: 16, systemTokens: 2048, questionTokens: 128, outputTokens: 256 };

/**
 * 128 conversations, each with its own 1,024-token system prompt (instructions and tools,
 * a document), turns of 64 tokens in, 128 out. At ~78 turns/s each conversation gets a turn
 * every ~1.6 s: the warm-up holds the first turns, and the measured part turns 2 to ~5
 * (1,300–2,000 tokens), where routing decides what is already cached.
 */
export const CHAT = { sessions: 128, turns: 16, systemTokens: 1024, userTokens: 64, outputTokens: 128 };
const CHAT_MODEL_MS = 8_000;
/** The chat workload's seed, shared with the calibration. */
export const CHAT_SEED = 2;

const chatPlan = (ctx: Context, salt: number): Planned => {
  const rate = 0.8 * ctx.chatCapacity!;
  const modelMs = CHAT_MODEL_MS;
  return {
    workload: multiTurnChat(CHAT, CHAT_SEED, salt),
    pace: { kind: 'poisson', perSecond: rate / ctx.timeScale, seed: CHAT_SEED },
    limits: limits(ctx, Math.ceil((rate * modelMs) / 1000), modelMs),
    // Leave out the first round of turns: nothing to reuse anywhere.
    warmupMs: ((CHAT.sessions / rate) * 1000 + 100) * ctx.timeScale,
  };
};

export const SCENARIOS: Scenario[] = [
  {
    name: 'w1',
    title: 'W1 shared system prompts: groups × 16 prompts, system 2,048 + question 128 tokens, 256 out, all sent at once',
    plan: (ctx, salt) => ({ workload: sharedPrefix(W1, 1, salt), pace: { kind: 'burst' }, limits: limits(ctx, Infinity, 60_000) }),
  },
  {
    name: 'chat',
    title: `multi-turn chat: ${CHAT.sessions} conversations, own system prompt ${CHAT.systemTokens}, +${CHAT.userTokens} in / ${CHAT.outputTokens} out per turn, Poisson at 80% of capacity`,
    needsCapacity: true,
    plan: chatPlan,
  },
  {
    name: 'noprefix',
    title: 'no shared prefix: ShareGPT-like lengths (~200 in, ~180 out), 64 streams (closed loop)',
    again: 'least-queue',
    plan: (ctx, salt) => ({
      workload: noPrefix({ requests: 256, meanIn: 200, meanOut: 180 }, 3, salt),
      pace: { kind: 'closed', concurrency: 64 },
      limits: limits(ctx, 256, 60_000),
    }),
  },
  {
    name: 'slow',
    title: 'multi-turn chat as above, one backend slowed 3× (fault injection `slowdown: 3`)',
    needsCapacity: true,
    slow: { 0: 3 },
    strategies: ['round-robin', 'least-request', 'least-queue', 'prefix-affinity'],
    plan: chatPlan,
  },
];
