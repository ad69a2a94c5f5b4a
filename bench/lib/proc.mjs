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

/**
 * The open-files limit of `pid` (soft and hard), from /proc/<pid>/limits.
 * @param {number} pid @returns {{soft: number, hard: number}}
 */
export function fdLimit(pid) {
  const line = readFileSync(`/proc/${pid}/limits`, 'utf8').split('\n').find((l) => l.startsWith('Max open files')) ?? '';
  const [soft = NaN, hard = NaN] = (line.match(/(\d+|unlimited)\s+(\d+|unlimited)/)?.slice(1) ?? []).map((v) => (v === 'unlimited' ? Infinity : Number(v)));
  return { soft, hard };
}

/**
 * Make sure process `pid` may open `need` files: when its soft limit is lower, raise it with
 * `prlimit --pid` (util-linux) — up to the hard limit, or beyond it when running as root.
 * Returns the limit in force afterwards and, if it is still too low, why.
 * @param {number} pid @param {number} need
 * @returns {{soft: number, raised: boolean, problem: string|null}}
 */
export function ensureFdLimit(pid, need) {
  const before = fdLimit(pid);
  if (before.soft >= need) return { soft: before.soft, raised: false, problem: null };
  const root = process.getuid?.() === 0;
  const soft = root ? need : Math.min(need, before.hard);
  const hard = root ? Math.max(need, before.hard) : before.hard;
  try {
    execFileSync('prlimit', ['--pid', String(pid), `--nofile=${soft}:${Number.isFinite(hard) ? hard : 'unlimited'}`], { stdio: 'ignore', timeout: 5000 });
  } catch (err) {
    return { soft: before.soft, raised: false, problem: `open-files limit ${before.soft} < ${need} needed, and prlimit failed: ${/** @type {Error} */ (err).message}` };
  }
  const after = fdLimit(pid);
  return { soft: after.soft, raised: true, problem: after.soft >= need ? null : `open-files limit ${after.soft} < ${need} needed (hard limit ${after.hard}; raising it needs root)` };
}
