/**
 * Issue 9, bounded chaos run, part 1 of 2: the data path under faults —
 * collect worker and ingest SIGKILLed, nats-server restarted and SIGKILLed,
 * InfluxDB down, the Temporal dev server restarted (test/support/chaos-suite.ts).
 */
import { chaosSuite } from '../../support/chaos-suite.ts';

chaosSuite('chaos suite (bounded): data path', ['collect-worker-kill', 'ingest-kill', 'nats-restart', 'nats-kill', 'influxdb-down', 'temporal-restart']);
