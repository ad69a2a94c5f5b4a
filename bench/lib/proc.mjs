// Reading a process's CPU time and memory from /proc (Linux).
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

let clkTck = 100;
try {
  clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  // keep the Linux default
}
export const CLK_TCK = clkTck;

/**
 * utime + stime of `pid` in clock ticks, plus its current and peak resident set size.
 * @param {number} pid
 */
export function sampleProcess(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { cpuTicks: utime + stime, rssKB: kb('VmRSS'), hwmKB: kb('VmHWM'), sysBusyTicks: systemBusyTicks(), t: performance.timeOrigin + performance.now(), clkTck: CLK_TCK };
}

/** Busy ticks of the whole machine (all CPUs): user+nice+system+irq+softirq+steal. */
export function systemBusyTicks() {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]?.split(/\s+/).slice(1).map(Number) ?? [];
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = cpu;
  return user + nice + system + irq + softirq + steal;
}
