import t from 'tap';
import { BREAKER_STATE_VALUE, Circuit, type CircuitOptions, type CircuitState, classifyOutcome } from '../../../lib/health/circuit';
import type { OutlierConfig } from '../../../lib/config/schema';
import { FakeClock } from './fake-clock';

const S = 1000;
const OUTLIER: OutlierConfig = {
  enabled: true,
  consecutive_5xx: 5,
  consecutive_gateway_failure: 5,
  consecutive_local_origin_failure: 5,
  base_ejection_time: 30 * S,
  max_ejection_time: 300 * S,
  max_ejection_percent: 10,
  panic_threshold: 50,
};

function setup(outlier: Partial<OutlierConfig> = {}, opts: CircuitOptions & { probes?: number } = {}) {
  const clock = new FakeClock();
  const changes: [CircuitState, boolean][] = [];
  const circuit = new Circuit({ ...OUTLIER, ...outlier }, { half_open_probes: opts.probes ?? 1 }, {
    now: clock.now,
    timers: clock,
    onChange: (state, routable) => changes.push([state, routable]),
    ...opts,
  });
  return { clock, circuit, changes };
}

/** Fail `n` times with `kind` as normal (closed-state) requests. */
function fail(c: Circuit, kind: 'server' | 'gateway' | 'local', n: number): void {
  for (let i = 0; i < n; i++) c.onFailure(kind, c.allowRequest());
}

/** Eject once and return the ejection length in ms. */
function ejectionLength(clock: FakeClock, c: Circuit): number {
  fail(c, 'server', 5);
  return c.ejectedUntil - clock.now();
}

t.test('classifyOutcome', async (t) => {
  const table: [number | Parameters<typeof classifyOutcome>[0], string | undefined][] = [
    [200, undefined],
    [404, undefined],
    [429, undefined],
    [499, undefined],
    [500, 'server'],
    [501, undefined],
    [502, 'gateway'],
    [503, 'gateway'],
    [504, 'gateway'],
    [505, undefined],
    [507, 'server'],
    ['connect', 'local'],
    ['reset', 'local'],
    ['timeout', 'local'],
    ['protocol', 'gateway'],
    ['status_5xx', 'server'],
  ];
  for (const [outcome, kind] of table) t.equal(classifyOutcome(outcome), kind, `${outcome}`);
  t.same(BREAKER_STATE_VALUE, { closed: 0, 'half-open': 1, open: 2 });
});

const STEP = { s: 'server', g: 'gateway', l: 'local' } as const;

t.test('consecutive thresholds: exactly reached, reset by success', async (t) => {
  // Outcomes one letter each: s plain 5xx, g gateway error, l local-origin failure, o success.
  const gateway2 = { consecutive_gateway_failure: 2 };
  const local2 = { consecutive_local_origin_failure: 2 };
  const cases: [name: string, outlier: Partial<OutlierConfig>, seq: string, open: boolean][] = [
    ['4 × 5xx stays closed', {}, 'ssss', false],
    ['5 × 5xx ejects', {}, 'sssss', true],
    ['a success in between resets', {}, 'ssssossss', false],
    ['gateway errors count toward 5xx too', {}, 'sgsgs', true],
    ['5 × local ejects', {}, 'lllll', true],
    ['gateway threshold 2', gateway2, 'gg', true],
    ['a plain 5xx resets the gateway count', gateway2, 'gsg', false],
    ['local failures count as gateway failures', gateway2, 'lg', true],
    ['local threshold 2', local2, 'll', true],
    ['any response resets the local count', local2, 'lsl', false],
    ['disabled never ejects', { enabled: false }, 'llllll', false],
  ];
  for (const [name, outlier, seq, open] of cases) {
    const { circuit } = setup(outlier);
    for (const step of seq) {
      const a = circuit.allowRequest();
      if (step === 'o') circuit.onSuccess(a);
      else circuit.onFailure(STEP[step as keyof typeof STEP], a);
    }
    t.equal(circuit.state, open ? 'open' : 'closed', name);
  }
});

t.test('open → half-open after the ejection time → closed on a probe success', async (t) => {
  const { clock, circuit, changes } = setup();
  fail(circuit, 'gateway', 5);
  t.equal(circuit.state, 'open');
  t.equal(circuit.routable, false);
  t.equal(circuit.ejectedUntil, 30 * S);
  t.equal(circuit.allowRequest(), 'deny');

  clock.advance(30 * S - 1);
  t.equal(circuit.state, 'open', 'still open 1 ms before the end');
  clock.advance(1);
  t.equal(circuit.state, 'half-open');
  t.equal(circuit.ejectedUntil, 0);
  t.equal(circuit.routable, true);

  const probe = circuit.allowRequest();
  t.equal(probe, 'probe');
  t.equal(circuit.routable, false, 'the only probe slot is taken');
  t.equal(circuit.allowRequest(), 'deny', 'no second concurrent probe');
  circuit.onSuccess(probe);
  t.equal(circuit.state, 'closed');
  t.equal(circuit.allowRequest(), 'pass');
  t.same(changes, [
    ['open', false],
    ['half-open', true],
    ['half-open', false],
    ['closed', true],
  ]);
});

t.test('half-open allows half_open_probes concurrent probes; cancel gives a slot back', async (t) => {
  const { clock, circuit } = setup({}, { probes: 2 });
  fail(circuit, 'server', 5);
  clock.advance(30 * S);
  const a = circuit.allowRequest();
  const b = circuit.allowRequest();
  t.same([a, b], ['probe', 'probe']);
  t.equal(circuit.allowRequest(), 'deny');
  circuit.onCancel(a);
  t.equal(circuit.state, 'half-open', 'a cancelled probe is no verdict');
  t.equal(circuit.routable, true);
  t.equal(circuit.allowRequest(), 'probe');
});

t.test('a failed probe re-opens for longer; the multiplier is capped', async (t) => {
  const { clock, circuit } = setup();
  fail(circuit, 'server', 5);
  const lengths: number[] = [];
  for (let i = 0; i < 12; i++) {
    lengths.push(circuit.ejectedUntil - clock.now());
    clock.advance(circuit.ejectedUntil - clock.now());
    t.equal(circuit.state, 'half-open');
    circuit.onFailure('local', circuit.allowRequest());
  }
  t.same(
    lengths.map((ms) => ms / S),
    [30, 60, 90, 120, 150, 180, 210, 240, 270, 300, 300, 300],
  );
});

t.test('the ejection multiplier decays by one per base_ejection_time spent closed', async (t) => {
  const cases: { healthyFor: number; next: number }[] = [
    { healthyFor: 30 * S - 1, next: 60 * S }, // not a full period: 2nd ejection is ×2
    { healthyFor: 30 * S, next: 30 * S }, // one period: back to ×1
    { healthyFor: 600 * S, next: 30 * S }, // never below ×1
  ];
  for (const c of cases) {
    const { clock, circuit } = setup();
    t.equal(ejectionLength(clock, circuit), 30 * S);
    clock.advance(30 * S);
    circuit.onSuccess(circuit.allowRequest());
    t.equal(circuit.state, 'closed');
    clock.advance(c.healthyFor);
    t.equal(ejectionLength(clock, circuit), c.next, `healthy for ${c.healthyFor} ms`);
  }
});

t.test('decay starts from the cap, not from the count of ejections', async (t) => {
  const { clock, circuit } = setup();
  fail(circuit, 'server', 5);
  for (let i = 0; i < 15; i++) {
    clock.advance(circuit.ejectedUntil - clock.now());
    circuit.onFailure('server', circuit.allowRequest());
  }
  clock.advance(circuit.ejectedUntil - clock.now());
  circuit.onSuccess(circuit.allowRequest());
  clock.advance(30 * S); // one healthy period: ×10 → ×9, next ejection ×10 = 300 s
  t.equal(ejectionLength(clock, circuit), 300 * S);
  clock.advance(300 * S);
  circuit.onSuccess(circuit.allowRequest());
  clock.advance(60 * S); // two periods: ×10 → ×8, next ×9
  t.equal(ejectionLength(clock, circuit), 270 * S);
});

t.test('max_ejection_time below base caps the first ejection', async (t) => {
  const { clock, circuit } = setup({ base_ejection_time: 30 * S, max_ejection_time: 10 * S });
  t.equal(ejectionLength(clock, circuit), 10 * S);
});

t.test('a vetoed ejection keeps the backend and restarts the count', async (t) => {
  let allow = false;
  let asked = 0;
  const { circuit } = setup({}, { canEject: () => (asked++, allow) });
  fail(circuit, 'server', 5);
  t.equal(circuit.state, 'closed');
  t.equal(asked, 1);
  allow = true;
  fail(circuit, 'server', 4);
  t.equal(circuit.state, 'closed', 'the count restarted after the veto');
  t.equal(asked, 1);
  fail(circuit, 'server', 1);
  t.equal(circuit.state, 'open');
  t.equal(asked, 2);
});

t.test('results of requests admitted before the ejection prove nothing', async (t) => {
  const { clock, circuit } = setup();
  const early = circuit.allowRequest();
  fail(circuit, 'server', 5);
  const until = circuit.ejectedUntil;
  circuit.onFailure('server', early);
  circuit.onSuccess(early);
  t.equal(circuit.state, 'open');
  t.equal(circuit.ejectedUntil, until, 'a late failure does not extend the ejection');
  clock.advance(30 * S);
  circuit.onSuccess(early);
  circuit.onFailure('server', early);
  t.equal(circuit.state, 'half-open', 'only a probe decides half-open');
});

t.test('a passing active health check moves open to half-open at once', async (t) => {
  const { clock, circuit } = setup();
  circuit.healthCheckPassed();
  t.equal(circuit.state, 'closed', 'no effect while closed');
  fail(circuit, 'server', 5);
  circuit.healthCheckPassed();
  t.equal(circuit.state, 'half-open');
  t.equal(clock.timerCount, 0, 'the ejection timer is cleared');
});

t.test('dispose clears the ejection timer', async (t) => {
  const { clock, circuit } = setup();
  fail(circuit, 'server', 5);
  t.equal(clock.timerCount, 1);
  circuit.dispose();
  t.equal(clock.timerCount, 0);
});
