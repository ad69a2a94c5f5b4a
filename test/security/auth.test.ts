import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { SignJWT, UnsecuredJWT, exportJWK, exportSPKI } from 'jose';
import { SkeinProvider } from '@skein/client';
import { CloseCode } from '@skein/protocol';
import { SkeinError, type Config, type SkeinServer } from '@skein/server';
import { capturingLogger } from '../observability/helpers.js';
import { connectProvider, destroyAll, synced } from '../helpers/clients.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { startTestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';
import type { WebsocketProvider } from 'y-websocket';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';
const SECRET_KEY = new TextEncoder().encode(SECRET);

type Claims = Record<string, unknown>;

function hs256(claims: Claims, { expInS = 3600, now = Date.now() }: { expInS?: number; now?: number } = {}): Promise<string> {
  const iat = Math.floor(now / 1000);
  return new SignJWT({ exp: iat + expInS, iat, ...claims }).setProtectedHeader({ alg: 'HS256' }).sign(SECRET_KEY);
}

/** What a WebSocket upgrade came to: open, or refused with an HTTP status and error code. */
async function upgrade(url: string, headers: Record<string, string> = {}): Promise<'open' | { status: number; code: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => {
      ws.terminate();
      resolve('open');
    });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => {
        const code = (JSON.parse(body) as { error: { code: string } }).error.code;
        resolve({ status: res.statusCode ?? 0, code });
      });
    });
    ws.once('error', (err) => {
      if (!err.message.startsWith('Unexpected server response')) reject(err);
    });
  });
}

const docUrl = (server: SkeinServer, doc: string, token?: string): string =>
  `${server.url}/${encodeURIComponent(doc)}${token === undefined ? '' : `?token=${encodeURIComponent(token)}`}`;

describe('access control with --auth jwt', () => {
  let server: SkeinServer | undefined;
  const providers: (WebsocketProvider | SkeinProvider)[] = [];
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'skein-auth-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(async () => {
    for (const p of providers.splice(0)) {
      if (p instanceof SkeinProvider) await p.destroy();
      else destroyAll([p]);
    }
    await server?.close();
    server = undefined;
  });

  const start = async (overrides: Partial<Config> = {}, deps: Parameters<typeof startTestServer>[1] = {}): Promise<SkeinServer> =>
    (server = await startTestServer({ auth: 'jwt', authJwtSecret: SECRET, ...overrides }, deps));

  it('HS256: refuses every bad token at the upgrade with its code, before loading anything', async () => {
    const srv = await start({ authJwtIssuer: 'https://issuer.test', authJwtAudience: 'skein' });
    const good = { sub: 'ada', iss: 'https://issuer.test', aud: 'skein', docs: { 'boards/*': 'write' } };
    const valid = await hs256(good);
    const [header, payload, signature] = valid.split('.') as [string, string, string];
    const tampered = `${header}.${Buffer.from(JSON.stringify({ ...good, docs: { '*': 'write' }, exp: 9e9 })).toString('base64url')}.${signature}`;
    const cases: [string, string | undefined, number, string][] = [
      ['no token', undefined, 401, 'SKEIN_ERR_AUTH_MISSING'],
      ['garbage', 'not-a-jwt', 401, 'SKEIN_ERR_AUTH_MALFORMED'],
      ['expired', await hs256(good, { expInS: -3600 }), 401, 'SKEIN_ERR_AUTH_EXPIRED'],
      ['not yet valid', await hs256({ ...good, nbf: Math.floor(Date.now() / 1000) + 3600 }), 401, 'SKEIN_ERR_AUTH_CLAIMS'],
      ['wrong issuer', await hs256({ ...good, iss: 'https://evil.test' }), 401, 'SKEIN_ERR_AUTH_CLAIMS'],
      ['wrong audience', await hs256({ ...good, aud: 'other' }), 401, 'SKEIN_ERR_AUTH_CLAIMS'],
      ['alg none', new UnsecuredJWT({ ...good, exp: Math.floor(Date.now() / 1000) + 60 }).encode(), 401, 'SKEIN_ERR_AUTH_SIGNATURE'],
      ['tampered payload', tampered, 401, 'SKEIN_ERR_AUTH_SIGNATURE'],
      ['signed with another secret', await new SignJWT({ ...good, exp: 9e9 }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(`${SECRET}-other`)), 401, 'SKEIN_ERR_AUTH_SIGNATURE'],
      ['missing docs', await hs256({ sub: 'ada', iss: 'https://issuer.test', aud: 'skein' }), 401, 'SKEIN_ERR_AUTH_CLAIMS'],
      ['malformed docs', await hs256({ ...good, docs: { 'boards/*': 'admin' } }), 401, 'SKEIN_ERR_AUTH_CLAIMS'],
      ['missing sub', await hs256({ iss: 'https://issuer.test', aud: 'skein', docs: good.docs }), 401, 'SKEIN_ERR_AUTH_CLAIMS'],
      ['no access to this document', await hs256({ ...good, docs: { 'public/*': 'read' } }), 403, 'SKEIN_ERR_FORBIDDEN'],
    ];
    for (const [what, token, status, code] of cases) {
      expect(await upgrade(docUrl(srv, 'boards/1', token)), what).toEqual({ status, code });
    }
    expect(srv.registry.size).toBe(0); // nothing was loaded for a refusal
    expect(await upgrade(docUrl(srv, 'boards/1', valid))).toBe('open');
    expect(await upgrade(docUrl(srv, 'boards/1'), { Authorization: `Bearer ${valid}` })).toBe('open');
    expect(payload.length).toBeGreaterThan(0);
  });

  it('ES256 public key (PEM) and EdDSA (JWK file): only that algorithm; an HS256 token signed with the public key is refused', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = join(dir, 'es256.pem');
    writeFileSync(pem, await exportSPKI(ec.publicKey));
    const srv = await start({ authJwtSecret: '', authJwtPublicKey: pem });
    const claims = { sub: 'ada', docs: { '*': 'write' }, exp: Math.floor(Date.now() / 1000) + 600 };
    const es = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256' }).sign(ec.privateKey);
    expect(await upgrade(docUrl(srv, 'd', es))).toBe('open');
    // HS/RS confusion: the public key's PEM bytes used as an HMAC secret.
    const confused = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(await exportSPKI(ec.publicKey)));
    expect(await upgrade(docUrl(srv, 'd', confused))).toEqual({ status: 401, code: 'SKEIN_ERR_AUTH_SIGNATURE' });
    // Another EC key: a bad signature.
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(await upgrade(docUrl(srv, 'd', await new SignJWT(claims).setProtectedHeader({ alg: 'ES256' }).sign(other.privateKey))))
      .toEqual({ status: 401, code: 'SKEIN_ERR_AUTH_SIGNATURE' });
    await srv.close();

    const ed = generateKeyPairSync('ed25519');
    const jwkFile = join(dir, 'ed.jwk');
    writeFileSync(jwkFile, JSON.stringify(await exportJWK(ed.publicKey)));
    const srv2 = await start({ authJwtSecret: '', authJwtPublicKey: jwkFile });
    expect(await upgrade(docUrl(srv2, 'd', await new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA' }).sign(ed.privateKey)))).toBe('open');
    expect(await upgrade(docUrl(srv2, 'd', es))).toEqual({ status: 401, code: 'SKEIN_ERR_AUTH_SIGNATURE' });
  });

  it('JWKS file: keys chosen by kid (rotation: old and new both accepted)', async () => {
    const keys: { kid: string; priv: KeyObject; pub: KeyObject }[] = ['old', 'new'].map((kid) => {
      const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
      return { kid, priv: pair.privateKey, pub: pair.publicKey };
    });
    const jwks = join(dir, 'jwks.json');
    writeFileSync(jwks, JSON.stringify({ keys: await Promise.all(keys.map(async (k) => ({ ...(await exportJWK(k.pub)), kid: k.kid, alg: 'RS256', use: 'sig' }))) }));
    const srv = await start({ authJwtSecret: '', authJwksFile: jwks });
    const claims = { sub: 'ada', docs: { '*': 'read' }, exp: Math.floor(Date.now() / 1000) + 600 };
    for (const k of keys) {
      expect(await upgrade(docUrl(srv, 'd', await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: k.kid }).sign(k.priv)))).toBe('open');
    }
    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 });
    expect(await upgrade(docUrl(srv, 'd', await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'old' }).sign(stranger.privateKey))))
      .toEqual({ status: 401, code: 'SKEIN_ERR_AUTH_SIGNATURE' });
  });

  it('refuses a bad key configuration at start with SKEIN_ERR_CONFIG_INVALID', async () => {
    const bad: Partial<Config>[] = [
      { authJwtSecret: '' },
      { authJwtPublicKey: join(dir, 'missing.pem') },
      { authJwtSecret: '', authJwtPublicKey: join(dir, 'missing.pem') },
    ];
    for (const overrides of bad) {
      await expect(startTestServer({ auth: 'jwt', authJwtSecret: SECRET, ...overrides })).rejects.toMatchObject({ code: 'SKEIN_ERR_CONFIG_INVALID' });
    }
  });

  it('read-only for plain y-websocket clients: receives everything, its updates are never applied, stored or forwarded', async () => {
    const srv = await start();
    const writer = connectProvider(srv.url, 'boards/1', new Y.Doc(), { params: { token: await hs256({ sub: 'w', docs: { 'boards/*': 'write' } }) } });
    const reader = connectProvider(srv.url, 'boards/1', new Y.Doc(), { params: { token: await hs256({ sub: 'r', docs: { 'boards/*': 'write', 'boards/1': 'read' } }) } });
    providers.push(writer, reader);
    await Promise.all([synced(writer), synced(reader)]);
    writer.doc.getMap('m').set('from-writer', 1);
    await waitFor(() => reader.doc.getMap('m').get('from-writer') === 1, { what: 'reader receives' });
    reader.doc.getMap('m').set('from-reader', 2);
    // A marker after the reader's edit: once the writer has it, the server handled the edit before.
    writer.doc.getMap('m').set('marker', 3);
    await waitFor(() => reader.doc.getMap('m').get('marker') === 3 && srv.registry.get('boards/1')?.doc.getMap('m').get('marker') === 3);
    await waitFor(async () => /skein_readonly_updates_dropped_total(\{[^}]*\})? [1-9]/.test(await metrics(srv)), { what: 'dropped counted' });
    expect(srv.registry.get('boards/1')?.doc.getMap('m').has('from-reader')).toBe(false);
    expect(writer.doc.getMap('m').has('from-reader')).toBe(false);
    expect(reader.wsconnected).toBe(true);
  });

  it('read-only for @skein/client: provider.readOnly, one coded notice, edits kept pending and not sent', async () => {
    const srv = await start();
    const doc = new Y.Doc();
    const provider = new SkeinProvider({ url: srv.url, name: 'public/board', doc, WebSocket, token: await hs256({ sub: 'viewer', docs: { 'public/*': 'read' } }) });
    providers.push(provider);
    await waitFor(() => provider.status.synced && provider.readOnly, { what: 'read-only session' });
    expect(provider.status.readOnly).toBe(true);
    expect(provider.status.lastError?.code).toBe('SKEIN_ERR_CLIENT_READ_ONLY');
    doc.getMap('m').set('x', 1);
    await waitFor(() => provider.status.pendingUpdates.count === 1, { what: 'edit pending' });
    expect(provider.status.connection).toBe('connected');
    expect(provider.status.saved).toBe(false);
    expect(srv.registry.get('public/board')?.doc.getMap('m').has('x')).toBe(false);
  });

  it('a token that expires during a session closes it with 4401; @skein/client asks its token function again', async () => {
    const clock = new ManualClock(Date.now());
    // The clock jumps 61 s at once, which leaves no time to answer pings: a heartbeat interval
    // longer than the jump keeps this test about expiry alone.
    const srv = await start({ heartbeatIntervalMs: 600_000 }, { clock });
    let issued = 0;
    const token = (): Promise<string> => {
      issued++;
      return hs256({ sub: 'ada', docs: { '*': 'write' } }, { expInS: 60, now: clock.now() });
    };
    const closes: number[] = [];
    const provider = new SkeinProvider({
      url: srv.url, name: 'exp', doc: new Y.Doc(), token, WebSocket,
      logger: (e) => {
        if (e.closeCode !== undefined) closes.push(e.closeCode);
      },
    });
    providers.push(provider);
    await waitFor(() => provider.status.synced, { what: 'first session' });
    expect(issued).toBe(1);
    clock.advance(61_000);
    await waitFor(() => closes.includes(CloseCode.TokenExpired), { what: 'closed with 4401' });
    await waitFor(() => issued === 2 && provider.status.synced, { what: 'reconnected with a new token', timeoutMs: 20_000 });
    expect(provider.status.lastError?.code).toBe('SKEIN_ERR_CLIENT_TOKEN_EXPIRED');
  });
});

describe('read-only awareness and the authenticate hook', () => {
  it('--readonly-awareness deny drops a read-only session\'s presence; allow forwards it', async () => {
    for (const mode of ['deny', 'allow'] as const) {
      const srv = await startTestServer({ auth: 'jwt', authJwtSecret: SECRET, readonlyAwareness: mode });
      const writer = connectProvider(srv.url, 'b', new Y.Doc(), { params: { token: await hs256({ sub: 'w', docs: { b: 'write' } }) } });
      const reader = connectProvider(srv.url, 'b', new Y.Doc(), { params: { token: await hs256({ sub: 'r', docs: { b: 'read' } }) } });
      try {
        await Promise.all([synced(writer), synced(reader)]);
        reader.awareness.setLocalStateField('user', { name: 'viewer' });
        writer.awareness.setLocalStateField('user', { name: 'editor' });
        // The writer's presence reaches the reader either way: after it, the reader's (earlier) one has been handled.
        await waitFor(() => reader.awareness.getStates().get(writer.doc.clientID) !== undefined, { what: `${mode}: writer presence at reader` });
        await waitFor(() => srv.registry.get('b')?.awareness.getStates().has(writer.doc.clientID) === true);
        const seen = (): boolean => writer.awareness.getStates().has(reader.doc.clientID);
        if (mode === 'allow') await waitFor(seen, { what: 'reader presence at writer' });
        else {
          writer.awareness.setLocalStateField('marker', 1);
          await waitFor(() => reader.awareness.getStates().get(writer.doc.clientID)?.marker === 1, { what: 'marker' });
          expect(seen()).toBe(false);
          expect(srv.registry.get('b')?.awareness.getStates().has(reader.doc.clientID)).toBe(false);
        }
      } finally {
        destroyAll([writer, reader]);
        await srv.close();
      }
    }
  });

  it('an embedder\'s authenticate hook decides user and access per document, replacing --auth', async () => {
    const srv = await startTestServer({}, {
      authenticate: (req) => {
        const team = req.headers['x-team'];
        if (typeof team !== 'string') throw new SkeinError('SKEIN_ERR_AUTH_MISSING', 'no team header');
        return { user: `member-of-${team}`, access: (name: string) => (name.startsWith(`${team}/`) ? 'write' : name.startsWith('shared/') ? 'read' : 'none') };
      },
    });
    try {
      expect(await upgrade(`${srv.url}/t1/doc`)).toEqual({ status: 401, code: 'SKEIN_ERR_AUTH_MISSING' });
      expect(await upgrade(`${srv.url}/t1/doc`, { 'x-team': 't1' })).toBe('open');
      expect(await upgrade(`${srv.url}/t2/doc`, { 'x-team': 't1' })).toEqual({ status: 403, code: 'SKEIN_ERR_FORBIDDEN' });
      expect(await upgrade(`${srv.url}/shared/x`, { 'x-team': 't1' })).toBe('open');
      expect(srv.registry.get('t2/doc')).toBeUndefined();
    } finally {
      await srv.close();
    }
  });
});

describe('the handshake deadline covers authentication', () => {
  it('an authenticate hook that does not answer in time: the socket is destroyed, nothing loads; a late answer changes nothing', async () => {
    const clock = new ManualClock(Date.now());
    let calls = 0;
    let answer!: (p: { user: string; access: () => 'write' }) => void;
    const srv = await startTestServer({ handshakeTimeoutMs: 5_000 }, {
      clock,
      authenticate: () => {
        calls++;
        return new Promise((resolve) => (answer = resolve));
      },
    });
    try {
      const ws = new WebSocket(`${srv.url}/slow-auth`);
      const closed = new Promise<number>((resolve) => ws.once('close', (code: number) => resolve(code)));
      ws.on('error', () => undefined);
      await waitFor(() => calls === 1, { what: 'hook called' });
      clock.advance(4_999);
      expect(ws.readyState).toBe(WebSocket.CONNECTING);
      clock.advance(1);
      expect(await closed).toBe(1006);
      answer({ user: 'late', access: () => 'write' });
      // The late answer finds the socket destroyed: no upgrade, no document.
      await new Promise((resolve) => setImmediate(resolve));
      expect(srv.registry.size).toBe(0);
      expect(srv.connectionCount()).toBe(0);
      expect(await metrics(srv)).toMatch(/skein_limit_refusals_total\{[^}]*skein_limit_kind="handshake-timeout"[^}]*\} 1/);
    } finally {
      await srv.close();
    }
  });
});

describe('--auth none', () => {
  it('warns with SKEIN_ERR_AUTH_DISABLED when listening beyond loopback, not on loopback', async () => {
    for (const [host, warned] of [['0.0.0.0', true], ['127.0.0.1', false]] as const) {
      const { logger, lines } = capturingLogger();
      const srv = await startTestServer({ host }, { logger });
      await srv.close();
      expect(lines.some((l) => l.code === 'SKEIN_ERR_AUTH_DISABLED'), host).toBe(warned);
    }
  });
});

async function metrics(server: SkeinServer): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
  return res.text();
}
