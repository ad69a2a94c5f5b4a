// S8 connection setup: `connections` one-shot connections from this process, `concurrency`
// in flight. Each one: WebSocket upgrade (with `?token=<jwt>` for the JWT targets) → the
// client sends sync step 1 → the server's sync step 1 arrives (the document is open) and its
// sync step 2 answers ours (the initial sync is answered) → close; the next one starts when
// the socket has closed. Every connection opens a document of its own (empty, never seen
// before), so each setup includes a document open.
//
// Figures: setups per second over the measured batch (wall clock, first upgrade → last
// close), time from `new WebSocket` to the first sync message from the server (p50 / p99),
// time to the full handshake (both sync messages), server CPU per setup (from /proc, in ms).
// A warm-up batch runs first (JIT, pools) and is not measured.
//
// Tokens (JWT targets): HS256 or ES256, claims {sub, exp, docs: {"*": "write"}}. With
// `freshTokens` every connection carries its own token (its own `sub`), all signed before
// the timed window: the server verifies a token it has never seen on every setup; signing
// (the client's or the issuer's work) is not in the figures. Correctness: every connection
// got the server's sync step 1 and step 2; on a JWT target, a connection with no token, a
// malformed token and a token signed with another key are each refused with HTTP 401.
import { createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import * as encoding from 'lib0/encoding';
import * as decoding from 'lib0/decoding';
import { SignJWT } from 'jose';
import { cpuMeter, histogram, now, summarize } from '../common.mjs';
import { backgroundCpu, serverCpu } from './shared.mjs';

const MSG_SYNC = 0;
const MSG_AUTH = 2;
const MSG_HOCUS_SYNC_REPLY = 4;
const STEP1 = 0;
const STEP2 = 1;
// Sync step 1 with an empty state vector; sync step 2 carrying an empty update (the client
// has nothing): the same bytes for every connection.
const CLIENT_STEP1 = new Uint8Array([MSG_SYNC, STEP1, 1, 0]);
const CLIENT_STEP2 = new Uint8Array([MSG_SYNC, STEP2, 2, 0, 0]);

/**
 * @typedef {{alg: 'HS256', secret: string} | {alg: 'ES256', privateKeyPem: string}} AuthSpec
 * @param {{connections: number, warmup: number, concurrency: number, freshTokens: boolean, timeoutMs: number}} p
 * @param {{url: string, protocol: 'yws'|'hocus'|'relay', auth?: AuthSpec}} target
 * @param {import('../main.mjs').Orchestrator} orch
 */
export async function s8(p, target, orch) {
  const run = `${Date.now().toString(36)}`;
  const sign = target.auth ? signer(target.auth) : null;
  const tokens = async (n, prefix) => {
    if (sign === null) return Array.from({ length: n }, () => undefined);
    if (!p.freshTokens) {
      const shared = await sign(`${prefix}-shared`);
      return Array.from({ length: n }, () => shared);
    }
    const out = [];
    for (let i = 0; i < n; i++) out.push(await sign(`${prefix}-${i}`));
    return out;
  };

  // Warm-up (not measured).
  const warmTokens = await tokens(p.warmup, `warm-${run}`);
  const warm = await batch(target, p, warmTokens, `s8-${run}-w`, null);
  if (warm.failed > 0) return { failure: `warm-up: ${warm.failed} of ${p.warmup} setups failed (${warm.sample})` };

  const signStart = now();
  const measuredTokens = await tokens(p.connections, `user-${run}`);
  const signMs = now() - signStart;

  const ttfs = histogram();
  const full = histogram();
  const cpu = cpuMeter();
  const before = await orch.probe('measure-start');
  const t0 = now();
  const res = await batch(target, p, measuredTokens, `s8-${run}-m`, { ttfs, full });
  const seconds = (now() - t0) / 1000;
  const after = await orch.probe('measure-end');
  const loadgenCpu = cpu();

  const probes = sign === null ? null : await badTokenProbes(target, sign);
  const first = summarize(ttfs);
  const whole = summarize(full);
  const cpuMs = ((after.cpuTicks - before.cpuTicks) / before.clkTck) * 1000;
  const badProbes = probes === null ? [] : Object.entries(probes).filter(([, status]) => status !== 401);
  const failure = res.failed > 0 ? `${res.failed} of ${p.connections} setups did not get the server's sync step 1 and step 2 (${res.sample})`
    : res.gotStep1 !== p.connections ? `only ${res.gotStep1} of ${p.connections} connections got the server's sync step 1`
      : badProbes.length > 0 ? `bad-token probes not refused with 401: ${badProbes.map(([k, v]) => `${k} → ${v}`).join(', ')}`
        : undefined;
  return {
    failure,
    metrics: {
      setupsPerS: Math.round(p.connections / seconds),
      ttfsP50: first.p50, ttfsP99: first.p99,
      cpuMsPerSetup: Math.round((cpuMs / p.connections) * 1000) / 1000,
      setupP50: whole.p50, setupP99: whole.p99,
      serverCpuPct: serverCpu(before, after), loadgenCpuPct: loadgenCpu, bgCpuPct: backgroundCpu(before, after, loadgenCpu),
      ttfsP999: first.p999, ttfsMax: first.max,
      rssMB: Math.round(after.rssKB / 1024),
      tokensSignedPerS: sign === null ? null : Math.round(p.connections / (signMs / 1000)),
    },
    checks: {
      connections: p.connections, gotSyncStep1: res.gotStep1, gotSyncStep2: res.gotStep2,
      tokens: sign === null ? 'none' : `${target.auth?.alg}, ${p.freshTokens ? 'a fresh token per connection' : 'one shared token'}`,
      badTokenProbes: probes,
    },
  };
}

/**
 * HS256 / ES256 signing with jose; returns sub → compact JWT.
 * @param {AuthSpec} auth
 */
function signer(auth) {
  const key = auth.alg === 'HS256' ? new TextEncoder().encode(auth.secret) : createPrivateKey(auth.privateKeyPem);
  const exp = Math.floor(Date.now() / 1000) + 3600;
  return (/** @type {string} */ sub) => new SignJWT({ docs: { '*': 'write' } })
    .setProtectedHeader({ alg: auth.alg, typ: 'JWT' })
    .setSubject(sub)
    .setExpirationTime(exp)
    .sign(key);
}

/**
 * Run one setup per token, `concurrency` in flight.
 * @param {{url: string, protocol: string}} target
 * @param {{concurrency: number, timeoutMs: number}} p
 * @param {(string|undefined)[]} tokens
 * @param {string} docPrefix
 * @param {{ttfs: any, full: any}|null} hs  histograms (µs), or null (warm-up)
 */
async function batch(target, p, tokens, docPrefix, hs) {
  let next = 0;
  let failed = 0;
  let gotStep1 = 0;
  let gotStep2 = 0;
  /** @type {string|undefined} */
  let sample;
  const worker = async () => {
    while (next < tokens.length) {
      const i = next++;
      const r = await setupOnce(target, `${docPrefix}-${i}`, tokens[i], p.timeoutMs);
      if (r.step1) gotStep1++;
      if (r.step2) gotStep2++;
      if (r.error !== undefined) {
        failed++;
        sample ??= r.error;
        continue;
      }
      if (hs !== null) {
        hs.ttfs.recordValue(Math.max(1, Math.round(r.ttfsMs * 1000)));
        hs.full.recordValue(Math.max(1, Math.round(r.fullMs * 1000)));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(p.concurrency, tokens.length) }, worker));
  return { failed, gotStep1, gotStep2, sample };
}

/**
 * One connection: upgrade → the server's sync step 1 and its step 2 answer to ours → close.
 * Resolves when the socket has closed (or failed).
 * @param {{url: string, protocol: string}} target @param {string} doc @param {string|undefined} token @param {number} timeoutMs
 * @returns {Promise<{ttfsMs: number, fullMs: number, step1: boolean, step2: boolean, error?: string}>}
 */
function setupOnce(target, doc, token, timeoutMs) {
  const hocus = target.protocol === 'hocus';
  const url = hocus ? target.url : `${target.url}/${doc}${token === undefined ? '' : `?token=${token}`}`;
  /** @type {Uint8Array} */
  let prefix = new Uint8Array(0);
  if (hocus) {
    const e = encoding.createEncoder();
    encoding.writeVarString(e, doc);
    prefix = encoding.toUint8Array(e);
  }
  const frame = (/** @type {Uint8Array} */ msg) => {
    if (prefix.length === 0) return msg;
    const out = new Uint8Array(prefix.length + msg.length);
    out.set(prefix, 0);
    out.set(msg, prefix.length);
    return out;
  };
  return new Promise((resolve) => {
    const t0 = now();
    const r = { ttfsMs: NaN, fullMs: NaN, step1: false, step2: false, /** @type {string|undefined} */ error: undefined };
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.binaryType = 'nodebuffer';
    const timer = setTimeout(() => {
      r.error ??= `no sync within ${timeoutMs} ms`;
      ws.terminate();
      finish();
    }, timeoutMs);
    ws.on('open', () => {
      if (hocus) {
        // Hocuspocus: an Auth message first (its default configuration accepts any token).
        const e = encoding.createEncoder();
        encoding.writeVarUint(e, MSG_AUTH);
        encoding.writeVarUint(e, 0);
        encoding.writeVarString(e, 'bench');
        ws.send(frame(encoding.toUint8Array(e)));
      }
      ws.send(frame(CLIENT_STEP1));
    });
    ws.on('message', (/** @type {Buffer} */ data) => {
      const at = now();
      const d = decoding.createDecoder(data);
      if (hocus) decoding.readVarString(d);
      const type = decoding.readVarUint(d);
      if (type !== MSG_SYNC && type !== MSG_HOCUS_SYNC_REPLY) return;
      const syncType = decoding.readVarUint(d);
      if (Number.isNaN(r.ttfsMs)) r.ttfsMs = at - t0;
      if (syncType === STEP1 && !r.step1) {
        r.step1 = true;
        ws.send(frame(CLIENT_STEP2));
      } else if (syncType === STEP2) {
        r.step2 = true;
      }
      if (r.step1 && r.step2 && Number.isNaN(r.fullMs)) {
        r.fullMs = at - t0;
        ws.close(1000);
      }
    });
    ws.on('unexpected-response', (req, res) => {
      r.error ??= `upgrade refused with HTTP ${res.statusCode}`;
      req.destroy();
      finish();
    });
    ws.on('error', (err) => {
      r.error ??= err.message;
      finish();
    });
    ws.on('close', (code) => {
      if (!(r.step1 && r.step2)) r.error ??= `closed by the server (${code}) before the initial sync`;
      finish();
    });
  });
}

/**
 * The HTTP status of upgrades with no token, a malformed token and a token signed with
 * another key (HS256 with a random secret, or ES256 with a fresh key pair).
 * @param {{url: string, auth?: AuthSpec}} target @param {(sub: string) => Promise<string>} sign
 */
async function badTokenProbes(target, sign) {
  const good = await sign('probe');
  const alg = target.auth?.alg ?? 'HS256';
  const otherKey = alg === 'HS256'
    ? new TextEncoder().encode(randomBytes(32).toString('base64url'))
    : generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const forged = await new SignJWT({ docs: { '*': 'write' } }).setProtectedHeader({ alg, typ: 'JWT' }).setSubject('probe')
    .setExpirationTime(Math.floor(Date.now() / 1000) + 3600).sign(otherKey);
  const [h, , s] = good.split('.');
  const cases = {
    noToken: undefined,
    malformed: 'not-a-jwt',
    wrongKey: forged,
    tamperedClaims: `${h}.${Buffer.from(JSON.stringify({ sub: 'probe', exp: 4102444800, docs: { '*': 'write' }, x: 1 })).toString('base64url')}.${s}`,
  };
  /** @type {Record<string, number|string>} */
  const out = {};
  for (const [name, token] of Object.entries(cases)) out[name] = await upgradeStatus(`${target.url}/s8-probe${token === undefined ? '' : `?token=${token}`}`);
  return out;
}

/** 101 when the upgrade succeeds, else the HTTP status (or the error). @param {string} url */
function upgradeStatus(url) {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const timer = setTimeout(() => { ws.terminate(); resolve('timeout'); }, 10_000);
    ws.on('open', () => { clearTimeout(timer); ws.terminate(); resolve(101); });
    ws.on('unexpected-response', (req, res) => { clearTimeout(timer); req.destroy(); resolve(res.statusCode ?? 'no status'); });
    ws.on('error', (err) => { clearTimeout(timer); resolve(err.message); });
  });
}
