// What endpoint handlers see of the server: the datacenters, leader state, query timing,
// and the caller's request and ACL authorizer.
import type { Authorizer } from './acl';
import type { Agent } from './agent';
import type { BlockTracker, QueryTimes } from './blocking';
import type { DatacenterCoordinates } from './coordinates';
import type { Datacenter } from './datacenter';
import type { Reply, Request } from './http';
import type { Leadership } from './leadership';

export interface ServerCore {
  readonly localDc: string;
  /** The datacenter named by `?dc` (local when absent); unknown is 500 `No path to datacenter`. */
  dc(name: string | null): Datacenter;
  /** Datacenter names by ascending median RTT from the local one, local first. */
  rankedDatacenters(): string[];
  readonly coordinates: readonly DatacenterCoordinates[];
  readonly leadership: Leadership;
  readonly times: QueryTimes;
  readonly tracker: BlockTracker;
  readonly agent: Agent;
}

export interface Ctx {
  req: Request;
  authz: Authorizer;
  core: ServerCore;
}

/** `rest` is the decoded path after the route's prefix. Undefined: the client left, write nothing. */
export type Handler = (ctx: Ctx, rest: string) => Reply | undefined | Promise<Reply | undefined>;
