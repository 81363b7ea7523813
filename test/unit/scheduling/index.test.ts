import t from 'tap';
import { STRATEGIES } from '../../../lib/config/schema';
import { createScheduler, validateSchedulerConfig } from '../../../lib/scheduling/index';
import { fleet, pool, request } from './fakes';

t.test('every strategy builds a scheduler named after it', async (t) => {
  for (const strategy of STRATEGIES) {
    const s = createScheduler('p', pool({ strategy }));
    t.equal(s.profile, strategy);
    t.ok(s.schedule(request(), fleet(3), false).backend, `${strategy} picks a backend`);
    t.same(validateSchedulerConfig(pool({ strategy })), []);
  }
});

t.test('a scheduler block replaces the strategy', async (t) => {
  const s = createScheduler('p', pool({ strategy: 'round-robin', scheduler: { scorers: [{ name: 'inflight', weight: 2 }], picker: 'max-score' } }));
  t.equal(s.profile, 'custom');
  const bs = fleet(3, (i) => ({ inflight: [5, 0, 9][i] }));
  for (let i = 0; i < 5; i++) t.equal(s.schedule(request(), bs, false).backend?.id, 'b1');
});

t.test('unknown plugin names: createScheduler throws a clear Error', async (t) => {
  t.throws(() => createScheduler('blue', pool({ scheduler: { scorers: ['queue', 'nope'] } })), {
    message: 'pool "blue": scheduler.scorers.1: unknown scorer "nope" (known: inflight, queue, kv-cache, gpu-util, session-affinity, prefix-affinity)',
  });
  t.throws(() => createScheduler('blue', pool({ scheduler: { picker: { name: 'best' } } })), { message: /scheduler\.picker\.name: unknown picker "best"/ });
  t.throws(() => createScheduler('blue', pool({ scheduler: { filters: ['exclude'] } })), { message: /unknown filter "exclude" \(known: serves-model, model-loaded\)/ });
});

t.test('validateSchedulerConfig lists every problem with its path', async (t) => {
  const problems = validateSchedulerConfig(
    pool({
      scheduler: {
        filters: ['model-loaded', { name: 'model-loaded', params: { kv_threshold: 2 } }],
        scorers: [{ name: 'prefix-affinity', params: { block_size: 0, colour: 'red' } }, 'nope', { name: 'session-affinity', params: { pin_ttl: 'soon' } }],
        picker: 'nope',
      },
    }),
  );
  t.same(problems, [
    { path: ['scheduler', 'filters', 1, 'params', 'kv_threshold'], message: 'filter "model-loaded": param "kv_threshold" must be a number in [0, 1], got 2' },
    { path: ['scheduler', 'scorers', 0, 'params', 'block_size'], message: 'scorer "prefix-affinity": param "block_size" must be an integer ≥ 1, got 0' },
    { path: ['scheduler', 'scorers', 1], message: 'unknown scorer "nope" (known: inflight, queue, kv-cache, gpu-util, session-affinity, prefix-affinity)' },
    { path: ['scheduler', 'scorers', 2, 'params', 'pin_ttl'], message: 'scorer "session-affinity": param "pin_ttl" must be a duration such as "30s", got "soon"' },
    { path: ['scheduler', 'picker'], message: 'unknown picker "nope" (known: max-score, random, weighted-random, power-of-two, round-robin)' },
  ]);
});

t.test('unknown params are errors, as unknown keys are everywhere', async (t) => {
  t.same(validateSchedulerConfig(pool({ scheduler: { scorers: [{ name: 'queue', params: { window: 3 } }] } })), [
    { path: ['scheduler', 'scorers', 0, 'params', 'window'], message: 'scorer "queue": unknown param "window"' },
  ]);
});

t.test('params reach the plugins: durations as strings, pool defaults', async (t) => {
  const s = createScheduler('p', pool({ scheduler: { scorers: [{ name: 'prefix-affinity', params: { ttl: '5s', block_size: 4 } }] } }));
  t.ok(s.schedule(request({ promptText: 'abcdefgh' }), fleet(2), false).backend);
  t.same(validateSchedulerConfig(pool({ session: { load_factor: 2 }, strategy: 'session-affinity' })), []);
});

t.test('the params of placement, slowness and the filter queue are validated', async (t) => {
  const problems = validateSchedulerConfig(
    pool({
      scheduler: {
        filters: [{ name: 'model-loaded', params: { queue: 'guess' } }],
        scorers: [
          { name: 'prefix-affinity', params: { match_threshold: 2, slow_factor: 0.5 } },
          { name: 'session-affinity', params: { slow_factor: -1 } },
        ],
      },
    }),
  );
  t.same(problems, [
    { path: ['scheduler', 'filters', 0, 'params', 'queue'], message: 'filter "model-loaded": param "queue" must be one of estimated, scraped, none, got "guess"' },
    { path: ['scheduler', 'scorers', 0, 'params', 'match_threshold'], message: 'scorer "prefix-affinity": param "match_threshold" must be a number in [0, 1], got 2' },
    { path: ['scheduler', 'scorers', 1, 'params', 'slow_factor'], message: 'scorer "session-affinity": param "slow_factor" must be 0 (off) or a number ≥ 1, got -1' },
  ]);
  const ok = { scorers: [{ name: 'prefix-affinity', params: { match_threshold: 0, slow_factor: 0 } }], filters: [{ name: 'model-loaded', params: { queue: 'scraped' } }] };
  t.same(validateSchedulerConfig(pool({ scheduler: ok })), []);
  t.same(validateSchedulerConfig(pool({ scheduler: { scorers: [{ name: 'prefix-affinity', params: { slow_factor: 0.5 } }] } })), [
    { path: ['scheduler', 'scorers', 0, 'params', 'slow_factor'], message: 'scorer "prefix-affinity": param "slow_factor" must be 0 (off) or a number ≥ 1, got 0.5' },
  ]);
});
