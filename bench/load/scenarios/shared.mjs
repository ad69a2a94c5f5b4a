// Small helpers for scenario results.

/** Server CPU between two probes, in % of one core. */
export function serverCpu(before, after) {
  const seconds = (after.t - before.t) / 1000;
  return Math.round(((after.cpuTicks - before.cpuTicks) / before.clkTck / seconds) * 1000) / 10;
}

/**
 * CPU used on this machine by anything but the server and the load generator between two
 * probes, in % of one core (other processes compete for the 2 cores: a noise indicator).
 * @param {number} loadgenCpuPct
 */
export function backgroundCpu(before, after, loadgenCpuPct) {
  const seconds = (after.t - before.t) / 1000;
  const all = ((after.sysBusyTicks - before.sysBusyTicks) / before.clkTck / seconds) * 100;
  return Math.max(0, Math.round((all - serverCpu(before, after) - loadgenCpuPct) * 10) / 10);
}
