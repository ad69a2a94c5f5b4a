/**
 * What the health module reports (its probe port): alerts and integrity scans, for the
 * metrics. `telemetry/` implements it; the composition root plugs it in.
 */
export interface HealthProbes {
  /** A health reason appeared (or changed severity): an alert with its code. */
  alertRaised(code: string): void;
  /** One integrity scan finished; `mismatches`: documents whose stored state did not match memory. */
  integrityScanned(outcome: 'ok' | 'mismatch' | 'damaged' | 'failed', mismatches: number): void;
}

/** Reports nothing. */
export const NO_HEALTH_PROBES: HealthProbes = Object.freeze({
  alertRaised: () => undefined,
  integrityScanned: () => undefined,
});
