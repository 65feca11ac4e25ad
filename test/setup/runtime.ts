import { DefaultLogger, Runtime } from '@temporalio/worker';
import fc from 'fast-check';
import { inject } from 'vitest';

// Workers in tests log warnings and errors only.
try {
  Runtime.install({ logger: new DefaultLogger('WARN') });
} catch {
  // already installed in this process
}

// Every property test of the run draws from the seed the global setup printed, so a failure replays.
fc.configureGlobal({ seed: inject('fcSeed') });
