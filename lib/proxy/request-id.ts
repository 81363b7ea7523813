// Request ids: the client's x-request-id when it is a sane token, else a new one that is
// unique across processes (random per-process prefix) and cheap (a counter, no UUID per request).
import { randomBytes } from 'node:crypto';

const PREFIX = randomBytes(6).toString('hex');
let counter = 0;

export function newRequestId(): string {
  counter = (counter + 1) % Number.MAX_SAFE_INTEGER;
  return `${PREFIX}-${counter.toString(36)}`;
}
