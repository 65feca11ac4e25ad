/** Builds the Temporal cluster's binaries once (pinned, `go install` into .tools/cluster/): CI runs it before the tests. */
import { clusterBinary } from '../src/temporal/cluster';

for (const name of ['server', 'sql', 'ui'] as const) console.log(clusterBinary(name));
