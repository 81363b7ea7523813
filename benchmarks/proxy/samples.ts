// One run's figures: for each scenario, setup and round, what the scenario returned.
// Ratios are taken round by round (the two setups ran minutes apart at most, seconds
// apart usually) and then their median, which shrugs off a noisy neighbour better than
// a ratio of two medians would.
import { median } from '../common/stats';

export type Figures = Record<string, number>;

export class Samples {
  /** scenario → setup → round → figures (a hole where a run failed). */
  private readonly data = new Map<string, Map<string, Figures[]>>();

  add(scenario: string, setup: string, round: number, figures: Figures): void {
    const bySetup = this.data.get(scenario) ?? new Map<string, Figures[]>();
    const rounds = bySetup.get(setup) ?? [];
    rounds[round] = figures;
    bySetup.set(setup, rounds);
    this.data.set(scenario, bySetup);
  }

  has(scenario: string, setup?: string): boolean {
    const bySetup = this.data.get(scenario);
    return setup === undefined ? bySetup !== undefined : (bySetup?.has(setup) ?? false);
  }

  /** The median of `metric` over the rounds; NaN when the setup has no figure. */
  median(scenario: string, setup: string, metric: string): number {
    return median(this.values(scenario, setup, metric));
  }

  /** The median over the rounds of a's figure ÷ b's figure in the same round. */
  ratio(scenario: string, a: string, b: string, metric: string): number {
    return median(this.ratios(scenario, a, b, metric));
  }

  /** a's figure ÷ b's figure, round by round (rounds where either has none left out). */
  ratios(scenario: string, a: string, b: string, metric: string): number[] {
    const bs = this.rounds(scenario, b);
    return this.rounds(scenario, a).flatMap((fa, round) => (fa && bs[round] ? [fa[metric] / bs[round][metric]] : []));
  }

  /** `metric` round by round. */
  values(scenario: string, setup: string, metric: string): number[] {
    return this.rounds(scenario, setup).flatMap((f) => (f ? [f[metric]] : []));
  }

  private rounds(scenario: string, setup: string): (Figures | undefined)[] {
    return this.data.get(scenario)?.get(setup) ?? [];
  }
}
