#!/usr/bin/env node
/* eslint-disable no-console -- a command-line tool: progress goes to the terminal */
// Skein benchmark suite. Usage (from the repository root):
//   pnpm bench                      short run (~6–7 min on an idle 2-core machine; scaled-down scenarios labelled)
//   pnpm bench --full               the full-size run
//   node bench/run.mjs --only C1    the cluster scenario (two nodes + Redis per target)
//   node bench/run.mjs [--full] [--only S1,S3] [--targets skein-memory,raw-relay] [--repeats N]
//   node bench/run.mjs --report-from bench/results/run-<id>.json   (re-render reports only)
//
// Every server runs in its own process, the load generator in another (load/main.mjs),
// this orchestrator in a third. Runs are interleaved (scenario by scenario: target A, B, C,
// then A, B, C again) and each figure is reported as the median over repeats with min–max.
// Cluster targets (scenario C1) are two server processes sharing a redis-server started here.
import { fork } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { plan } from './lib/config.mjs';
import { ServerProcess, setPriority } from './lib/server.mjs';
import { RedisServer } from './lib/redis.mjs';
import { ensureFdLimit } from './lib/proc.mjs';
import { BENCH_DIR, allTargets, versions } from './lib/targets.mjs';
import { writeReports } from './lib/report.mjs';

const { values } = parseArgs({
  options: {
    full: { type: 'boolean', default: false },
    only: { type: 'string' },
    targets: { type: 'string' },
    repeats: { type: 'string' },
    'no-docs': { type: 'boolean', default: false },
    priority: { type: 'string', default: '-10' },
    'report-from': { type: 'string' },
  },
});

if (values['report-from']) {
  // Re-render the reports (markdown, charts, docs section) of a saved run without running it.
  const saved = JSON.parse(readFileSync(values['report-from'], 'utf8'));
  delete saved.aggregate;
  console.log(`Wrote:\n  ${writeReports(saved, { updateDocs: !values['no-docs'] }).join('\n  ')}`);
  process.exit(0);
}

const mode = values.full ? 'full' : 'quick';
const { repeats: defaultRepeats, scenarios: allScenarios } = plan(mode);
const repeats = values.repeats ? Number(values.repeats) : defaultRepeats;
const only = values.only?.split(',').map((s) => s.trim().toUpperCase());
const onlyTargets = values.targets?.split(',').map((s) => s.trim());
const scenarios = allScenarios.filter((s) => !only || only.includes(s.id));
const targets = allTargets();
const runId = new Date().toISOString().replace(/[:.]/g, '-');
const tmpRoot = path.join(BENCH_DIR, '.tmp', runId);
const startedAt = Date.now();
// Other work on the machine competes for the 2 cores: run the servers and the load generator
// at a higher priority when allowed (root), and record the machine's load with every run.
const priority = Number(values.priority);
const prioritized = setPriority(process.pid, priority);

console.log(`Skein bench (${mode}${only ? `, only ${only.join(',')}` : ''}), ${repeats} interleaved repeats, ${os.cpus().length} cores, node ${process.version}, nice ${prioritized ? priority : 0}, load average ${os.loadavg()[0].toFixed(2)}`);
for (const t of targets) if (t.unavailable) console.log(`  ${t.id}: ${t.unavailable}`);

/** @type {any[]} */
const runs = [];
for (const scenario of scenarios) {
  const ids = scenario.targets.filter((id) => !onlyTargets || onlyTargets.includes(id));
  const list = ids.map((id) => /** @type {import('./lib/targets.mjs').Target} */ (targets.find((t) => t.id === id)));
  console.log(`\n${scenario.id} ${scenario.title}`);
  for (const target of list.filter((t) => t.unavailable)) {
    runs.push({ scenario: scenario.id, target: target.id, repeat: 0, ok: false, skipped: target.unavailable });
  }
  const runnable = list.filter((t) => !t.unavailable);
  const scenarioRepeats = values.repeats ? repeats : (scenario.repeats ?? repeats);
  for (let rep = 1; rep <= scenarioRepeats; rep++) {
    for (const target of runnable) {
      const t0 = Date.now();
      const result = await runOne(scenario, target, rep);
      runs.push({ scenario: scenario.id, target: target.id, repeat: rep, ...result });
      const secs = ((Date.now() - t0) / 1000).toFixed(1);
      console.log(`  [${rep}/${scenarioRepeats}] ${target.id.padEnd(20)} ${result.ok ? 'ok    ' : 'FAILED'} ${secs.padStart(5)} s  ${brief(result)}`);
    }
  }
}
rmSync(tmpRoot, { recursive: true, force: true });

const report = {
  runId, mode, repeats, startedAt: new Date(startedAt).toISOString(), durationS: Math.round((Date.now() - startedAt) / 1000),
  priority: prioritized ? priority : 0,
  machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memGB: Math.round(os.totalmem() / 2 ** 30), platform: `${os.platform()} ${os.release()}` },
  versions: versions(),
  targets: targets.map(({ id, label, family, protocol, persistent, cluster, unavailable }) => ({ id, label, family, protocol, persistent, cluster, unavailable })),
  scenarios: scenarios.map(({ id, title, params, scaled, repeats: r }) => ({ id, title, params, scaled, repeats: values.repeats ? repeats : (r ?? repeats) })),
  runs,
};
const written = writeReports(report, { updateDocs: !values['no-docs'] && !only && !onlyTargets });
console.log(`\nDone in ${report.durationS} s. Wrote:\n  ${written.join('\n  ')}`);

/**
 * One (scenario, target, repeat): a fresh server process and a fresh load generator.
 * @param {import('./lib/config.mjs').ScenarioConfig} scenario
 * @param {import('./lib/targets.mjs').Target} target
 * @param {number} rep
 */
async function runOne(scenario, target, rep) {
  const dataDir = path.join(tmpRoot, `${scenario.id}-${target.id}-${rep}`);
  mkdirSync(dataDir, { recursive: true });
  const serverOpts = { inspect: scenario.inspect === true, eld: scenario.eld === true, priority: prioritized ? priority : 0 };
  // A cluster target (C1): one redis-server started here, and two server processes (nodes a
  // and b) sharing it; the load generator gets both URLs. Otherwise one server process.
  const redis = target.cluster ? new RedisServer() : null;
  /** @type {ServerProcess[]} */
  const servers = [];
  const loadAvg = Math.round(os.loadavg()[0] * 100) / 100;
  try {
    if (redis) {
      await redis.start();
      for (const nodeId of ['a', 'b']) servers.push(new ServerProcess(target, path.join(dataDir, nodeId), { ...serverOpts, cluster: { redisPort: redis.port, nodeId } }));
    } else {
      servers.push(new ServerProcess(target, dataDir, serverOpts));
    }
    for (const s of servers) await s.start();
    // Scenarios with thousands of sockets (S10, S11): each process must be allowed that many
    // open files; raised with prlimit when the inherited soft limit is lower.
    if (scenario.fds) {
      for (const s of servers) {
        const fd = ensureFdLimit(s.pid, scenario.fds);
        if (fd.problem) throw new Error(`server: ${fd.problem}`);
      }
    }
  } catch (err) {
    for (const s of servers) await s.kill();
    await redis?.stop();
    return { ok: false, failure: `server failed to start: ${/** @type {Error} */ (err).message}` };
  }
  const server = /** @type {ServerProcess} */ (servers[0]);
  let restarting = false;
  const result = await new Promise((resolve) => {
    // Extra node flags for the load generator only, e.g. profiling it:
    // SKEIN_BENCH_LOADGEN_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/loadprof' node bench/run.mjs --only S3
    const execArgv = (process.env.SKEIN_BENCH_LOADGEN_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
    const child = fork(path.join(BENCH_DIR, 'load', 'main.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv });
    if (prioritized) setPriority(child.pid, priority);
    const fd = scenario.fds && child.pid !== undefined ? ensureFdLimit(child.pid, scenario.fds) : null;
    let settled = false;
    const finish = (r) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      for (const s of servers) s.child?.off('exit', onServerExit);
      if (child.exitCode === null && execArgv.length > 0) {
        // Flags such as --cpu-prof write their output as the process exits: let it (10 s at most).
        const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => {
          clearTimeout(kill);
          resolve(r);
        });
        return;
      }
      if (child.exitCode === null) child.kill('SIGKILL');
      resolve(r);
    };
    const timer = setTimeout(() => finish({ ok: false, failure: `timed out after ${scenario.timeoutS} s` }), scenario.timeoutS * 1000);
    const onServerExit = (code, signal) => {
      if (!restarting) finish({ ok: false, failure: `server exited (${code ?? signal}) during the run: ${servers.map((s) => s.stderr.trim().slice(-400)).join(' | ')}` });
    };
    for (const s of servers) s.child?.on('exit', onServerExit);
    if (fd?.problem) {
      finish({ ok: false, failure: `load generator: ${fd.problem}` });
      return;
    }
    child.on('exit', (code) => finish({ ok: false, failure: `load generator exited with ${code} without a result` }));
    child.on('message', async (/** @type {any} */ msg) => {
      try {
        if (msg.type === 'probe') {
          const first = await server.probe(msg.gc);
          const nodes = servers.length > 1 ? { nodes: [first, ...(await Promise.all(servers.slice(1).map((s) => s.probe(msg.gc))))] } : {};
          child.send({ id: msg.id, ...first, ...nodes });
        } else if (msg.type === 'redis') {
          child.send({ id: msg.id, ...(redis ? await redis.stats() : {}) });
        } else if (msg.type === 'restart') {
          restarting = true;
          server.child?.off('exit', onServerExit);
          const stopped = await server.stop();
          await server.start();
          server.child?.on('exit', onServerExit);
          restarting = false;
          child.send({ id: msg.id, url: server.url, stopped });
        } else if (msg.type === 'log') {
          console.log(`      ${msg.msg}`);
        } else if (msg.type === 'result') {
          finish(msg.result);
        }
      } catch (err) {
        finish({ ok: false, failure: `orchestrator: ${/** @type {Error} */ (err).message}` });
      }
    });
    const urls = servers.length > 1 ? { urls: servers.map((s) => s.url) } : {};
    // A JWT target's signing key goes to the load generator only (never into the results).
    const auth = target.auth ? { auth: target.auth } : {};
    // A durable target's data directory: S7 measures the disk's own fdatasync there.
    const disk = target.persistent ? { dataDir } : {};
    child.send({ type: 'start', scenario: scenario.id, params: scenario.params, target: { id: target.id, protocol: target.protocol, url: server.url, ...urls, ...auth, ...disk } });
  });
  const stops = await Promise.all(servers.map((s) => s.stop()));
  await redis?.stop();
  if (result.ok && target.persistent && !stops.every((st) => st.graceful)) result.note = 'server needed SIGKILL to stop';
  rmSync(dataDir, { recursive: true, force: true });
  return { ...result, loadAvg };
}

/** One line of the headline figures of a run, for the progress log. */
function brief(r) {
  if (!r.ok) return r.failure ?? r.skipped ?? '';
  const m = r.metrics ?? {};
  const keys = Object.keys(m).filter((k) => typeof m[k] === 'number').slice(0, 6);
  return keys.map((k) => `${k}=${m[k]}`).join(' ');
}
