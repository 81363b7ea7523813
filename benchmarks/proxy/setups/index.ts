// The setups in the order of the printed columns.
import { bare, bareInDaemon } from './bare';
import { direct } from './direct';
import { haproxy } from './haproxy';
import { nginx } from './nginx';
import type { Setup } from './setup';
import { switchyard, switchyardNoLog } from './switchyard';

export const SETUPS: Setup[] = [direct, switchyard, switchyardNoLog, bare, bareInDaemon, haproxy, nginx];

/**
 * The setups `wanted` names by prefixes of their names (case-insensitive); all the regular
 * ones when it names none. An opt-in setup (a variant) is chosen only by a prefix that
 * names no regular setup, e.g. 'bare node (' but not 'bare'.
 */
export function selectSetups(wanted: string[]): Setup[] {
  const named = (s: Setup, w: string) => s.name.toLowerCase().startsWith(w.trim().toLowerCase());
  return SETUPS.filter((s) =>
    s.optIn ? wanted.some((w) => named(s, w) && !SETUPS.some((r) => !r.optIn && named(r, w))) : wanted.length === 0 || wanted.some((w) => named(s, w)),
  );
}
export type { Running, Setup, SetupEnv } from './setup';
