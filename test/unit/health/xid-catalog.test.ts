import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { XID_CATALOG, XidCatalogError, parseXidCatalog, recoveryEntry, xidEntry } from '../../../lib/health/xid-catalog.ts';
import { XID_NAMES } from '../../../activities/health/hard-faults.ts';
import { RECOVERY_ACTION_CODES } from '../../../lib/parse/fields.ts';

const RAW = JSON.parse(readFileSync(new URL('../../../lib/health/xid-catalog.json', import.meta.url), 'utf8'));

describe('XID / recovery-action catalog', () => {
  test('every XID the reasons name and every recovery-action code has an entry with a source', () => {
    for (const code of Object.keys(XID_NAMES)) assert.equal(xidEntry(Number(code)).known, true, `XID ${code}`);
    for (const [name, code] of Object.entries(RECOVERY_ACTION_CODES)) {
      const e = recoveryEntry(code)!;
      assert.equal(e.name.toLowerCase(), name);
      assert.match(e.source, /^https:\/\/docs\.nvidia\.com\//);
    }
    for (const e of Object.values(XID_CATALOG.xids)) assert.match(e.source, /^https:\/\/docs\.nvidia\.com\//);
  });

  test('buckets and reset needs as published: app errors restart the app, 79 needs a reboot, 95 a reset', () => {
    assert.equal(xidEntry(13).bucket, 'RESTART_APP');
    assert.equal(xidEntry(13).resets_needed, false);
    assert.equal(xidEntry(79).bucket, 'RESTART_BM');
    assert.equal(xidEntry(95).bucket, 'RESET_GPU');
    assert.equal(recoveryEntry(0)!.resets_needed, false);
    assert.equal(recoveryEntry(4)!.resets_needed, true);
    assert.equal(recoveryEntry(7), undefined);
  });

  test('a bad catalog is rejected naming the path', () => {
    const bad = structuredClone(RAW);
    bad.xids['48'].severity = 'fatal';
    assert.throws(() => parseXidCatalog(bad, 'x.json'), (e: unknown) => e instanceof XidCatalogError && /x\.json: xids\.48\.severity/.test(e.message));
    const badBucket = structuredClone(RAW);
    badBucket.xids['13'].bucket = 'PRAY';
    assert.throws(() => parseXidCatalog(badBucket), /xids\.13\.bucket "PRAY"/);
  });
});
