// The setups in the order of the printed columns.
import { bare, bareInDaemon } from './bare';
import { direct } from './direct';
import { haproxy } from './haproxy';
import { nginx } from './nginx';
import type { Setup } from './setup';
import { switchyard, switchyardNoLog } from './switchyard';

export const SETUPS: Setup[] = [direct, switchyard, switchyardNoLog, bare, bareInDaemon, haproxy, nginx];
export type { Running, Setup, SetupEnv } from './setup';
