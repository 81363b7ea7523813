// TEMPORARY until lib/health/retry.ts lands.
import type { UpstreamErrorKind } from '../errors';
const KIND: Record<string, string> = { connect: 'connect-failure', reset: 'reset', timeout: 'timeout', protocol: 'reset' };
export function isRetryable(kind: UpstreamErrorKind, on: readonly (string | number)[]): boolean {
  return on.includes(KIND[kind] ?? '');
}
export function backoffDelay(attempt: number, base: number, max: number): Promise<void> {
  const d = Math.random() * Math.min(max, base * 2 ** (attempt - 1));
  return new Promise((r) => setTimeout(r, d));
}
