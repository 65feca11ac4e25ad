import { DefaultLogger, Runtime } from '@temporalio/worker';

// Workers in tests log warnings and errors only.
try {
  Runtime.install({ logger: new DefaultLogger('WARN') });
} catch {
  // already installed in this process
}
