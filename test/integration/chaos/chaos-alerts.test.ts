/**
 * Issue 9, bounded chaos run, part 2 of 2: the alert path and the limits —
 * EVM node down during the ack, Slack 429 then 500, a full stream, a full
 * DLQ, the API clock skewed ±10 min (test/support/chaos-suite.ts).
 */
import { chaosSuite } from '../../support/chaos-suite.ts';

chaosSuite('chaos suite (bounded): alerts and limits', ['evm-down-during-ack', 'slack-429-then-500', 'stream-full', 'dlq-disk-full', 'clock-skew']);
