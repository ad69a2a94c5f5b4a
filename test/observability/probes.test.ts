import { describe, expect, it } from 'vitest';
import { NO_CLUSTER_PROBES, type ClusterProbes } from '../../server/src/cluster/probes.js';
import { NO_DOCUMENT_PROBES, type DocumentProbes } from '../../server/src/documents/probes.js';
import { NO_HEALTH_PROBES, type HealthProbes } from '../../server/src/health/probes.js';
import { NO_PERSISTENCE_PROBES, type PersistenceProbes } from '../../server/src/persistence/probes.js';
import { NO_TRANSPORT_PROBES, type TransportProbes } from '../../server/src/transport/probes.js';
import { Telemetry } from '../../server/src/telemetry/telemetry.js';

/**
 * The no-op probe defaults (what a module uses when nothing is plugged in) must still do the
 * work they wrap — run the apply, the write, the publish — exactly once, passing results and
 * failures through; and telemetry implements every port.
 */
describe('probe ports', () => {
  it('no-op transport probes run the wrapped apply once and return its result', () => {
    let runs = 0;
    const conn = NO_TRANSPORT_PROBES.upgradeStarted('d');
    expect(conn.run(() => 'in trace')).toBe('in trace');
    expect(NO_TRANSPORT_PROBES.applyUpdate(conn, 'sync-update', 3, 0, () => ++runs)).toBe(1);
    expect(runs).toBe(1);
    expect(() => NO_TRANSPORT_PROBES.applyUpdate(undefined, 'sync-update', 3, 0, () => {
      throw Object.assign(new Error('bad update'), { code: 'SKEIN_ERR_INVALID_UPDATE' });
    })).toThrow(expect.objectContaining({ code: 'SKEIN_ERR_INVALID_UPDATE' }));
  });

  it('no-op persistence probes run the write once and pass its outcome through', async () => {
    let writes = 0;
    expect(NO_PERSISTENCE_PROBES.captureContext()).toBeUndefined();
    await NO_PERSISTENCE_PROBES.persistenceWrite('immediate', [], 1, () => Promise.resolve(void writes++));
    expect(writes).toBe(1);
    const failing = NO_PERSISTENCE_PROBES.persistenceWrite('debounced', [], 2, () => Promise.reject(Object.assign(new Error('io'), { code: 'SKEIN_ERR_STORAGE_WRITE' })));
    await expect(failing).rejects.toMatchObject({ code: 'SKEIN_ERR_STORAGE_WRITE' });
  });

  it('no-op cluster probes publish with an empty traceparent and process in place', () => {
    expect(NO_CLUSTER_PROBES.clusterPublish('d', 'update', 1, (tp) => `[${tp}]`)).toBe('[]');
    expect(NO_CLUSTER_PROBES.clusterProcess('00-bad', 'd', 'update', 1, () => 42)).toBe(42);
  });

  it('no-op document probes give a load trace that accepts both endings', () => {
    const trace = NO_DOCUMENT_PROBES.documentLoadStarted('d');
    expect(() => {
      trace.loaded([], 0);
      trace.failed('SKEIN_ERR_STORAGE_READ');
    }).not.toThrow();
  });

  it('Telemetry implements every port (one object plugs into every module)', () => {
    const t: TransportProbes & DocumentProbes & PersistenceProbes & ClusterProbes & HealthProbes = Telemetry.disabled();
    expect(t.applyUpdate(undefined, 'sync-update', 1, 0, () => 'applied')).toBe('applied');
    expect(t.clusterPublish('d', 'update', 1, (tp) => tp)).toBe('');
    expect(() => NO_HEALTH_PROBES.alertRaised('SKEIN_ERR_HEALTH_EVENT_LOOP_LAG')).not.toThrow();
  });
});
