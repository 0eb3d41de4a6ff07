// Shard 1 of the simulation (test/simulation/simulate.ts): a world of its own, in a vitest worker of its own.
import { simulationShard } from './simulate.js';

simulationShard(0);
