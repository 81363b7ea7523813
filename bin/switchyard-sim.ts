#!/usr/bin/env node
// switchyard-sim: N simulated vLLM backends on ports P, P+1, … (see lib/sim/README.md).
import { main } from '../lib/sim/cli';

void main(process.argv);
