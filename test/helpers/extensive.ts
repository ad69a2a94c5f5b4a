/**
 * Long randomized runs (fuzz, chaos, property tests with many more cases): `EXTENSIVE=1` (or
 * `true`). Without it every such test runs its short CI mode. One definition for every package's
 * tests.
 */
export const EXTENSIVE = process.env.EXTENSIVE === '1' || process.env.EXTENSIVE === 'true';
