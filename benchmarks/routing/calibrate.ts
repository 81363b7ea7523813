// The chat workload's capacity: the highest Poisson rate at which 8 backends under
// round-robin keep up. Found on the simulator's own engines driven by a virtual clock (no
// sockets, no timers), so it is exact and deterministic: a real-time calibration on a
// shared 2-core machine measures the machine as much as the fleet.
//
// "Keeps up": an overloaded fleet's backlog grows for as long as the load lasts, while one
// that keeps up only sees its conversations lengthen. So a rate passes when the turns
// arrived and not yet answered (in the fleet, or held for their session's previous answer)
// over the last quarter of the run are at most 1.5× those over the second quarter.
import { Engine, getProfile, renderChat, tokenize, type ChatMessage } from '../../lib/sim';
import { MODEL, multiTurnChat, rng, type ChatRequest, type ChatShape } from './workloads';

interface Turn {
  arrival: number;
  end: number;
}

/** One virtual run: round-robin over `backends` engines, Poisson arrivals for `modelMs`. */
async function simulate(shape: ChatShape, seed: number, perSecond: number, modelMs: number, backends: number): Promise<Turn[]> {
  const profile = getProfile('llama3-8b-h100');
  const engines = Array.from({ length: backends }, (_, i) => new Engine({ profile, seed: seed + i }));
  const workload = multiTurnChat(shape, seed);
  const rand = rng(seed);
  const gap = () => (-Math.log(1 - rand()) / perSecond) * 1000;
  const turns: Turn[] = [];
  let sent = 0;
  const submit = (req: ChatRequest, turn: Turn) => {
    let reply = '';
    engines[sent++ % backends]!.submit({
      model: MODEL,
      promptTokens: tokenize(renderChat(req.body.messages as ChatMessage[])),
      maxTokens: shape.outputTokens,
      ignoreEos: true,
      sink: {
        token(_r, text, finish, at) {
          reply += text;
          if (!finish) return;
          turn.end = at;
          workload.done(req, reply);
        },
      },
    });
  };
  // Event by event (the next arrival or the next engine step, whichever is first), so that a
  // turn held for its session's previous answer is sent at the moment that answer ends.
  for (let arrival = gap(); ; ) {
    const t = Math.min(arrival, ...engines.map((e) => e.nextEventTime()));
    if (t > modelMs) break;
    for (const e of engines) e.advanceTo(t);
    if (t === arrival) {
      const turn: Turn = { arrival: t, end: Infinity };
      turns.push(turn);
      void Promise.resolve(workload.next()!).then((req) => submit(req, turn));
      arrival += gap();
    }
    await new Promise((resolve) => setImmediate(resolve)); // the released turns build and submit at t
  }
  return turns;
}

/** Mean count of turns in the fleet over [from, to), sampled at 20 points. */
function meanInFleet(turns: Turn[], from: number, to: number): number {
  let sum = 0;
  for (let k = 0; k < 20; k++) {
    const at = from + ((to - from) * k) / 20;
    sum += turns.filter((x) => x.arrival <= at && x.end > at).length;
  }
  return sum / 20;
}

async function keepsUp(shape: ChatShape, seed: number, perSecond: number, modelMs: number, backends: number): Promise<boolean> {
  const turns = await simulate(shape, seed, perSecond, modelMs, backends);
  return meanInFleet(turns, 0.75 * modelMs, modelMs) <= 1.5 * meanInFleet(turns, 0.25 * modelMs, 0.5 * modelMs);
}

/** Model ms of each virtual run: long enough for the backlog test to see past the ramp. */
const RUN_MS = 16_000;

/** Requests per model second, within 2%: bisection between 10/s and 400/s. */
export async function chatCapacity(shape: ChatShape, seed: number, backends: number): Promise<number> {
  let lo = 10;
  let hi = 400;
  for (let i = 0; i < 20 && hi / lo > 1.02; i++) {
    const mid = Math.sqrt(lo * hi);
    if (await keepsUp(shape, seed, mid, RUN_MS, backends)) lo = mid;
    else hi = mid;
  }
  return lo;
}
