import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { SignJWT } from 'jose';
import type { WebsocketProvider } from 'y-websocket';
import { DEFAULT_CONFIG, type Config } from '../../server/src/config/schema.js';
import { startServer, type SkeinServer } from '../../server/src/server.js';
import { createTestTelemetry } from '../../server/src/telemetry/testing.js';
import { capturingLogger } from '../observability/helpers.js';
import { connectProvider, destroyAll, synced } from '../helpers/clients.js';
import { RawClient } from '../helpers/raw-client.js';
import { waitFor } from '../helpers/wait.js';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';

/** Tokens and secrets are credentials: no log line and no span may carry them. */
describe('secrets stay out of logs and spans', () => {
  let server: SkeinServer | undefined;
  const providers: WebsocketProvider[] = [];
  afterEach(async () => {
    destroyAll(providers.splice(0));
    await server?.close();
    server = undefined;
  });

  it('the token and the secret never appear in logs or spans; the user id does', async () => {
    const { logger, lines } = capturingLogger();
    const { telemetry, spans } = await createTestTelemetry();
    const config: Config = Object.freeze({ ...DEFAULT_CONFIG, host: '127.0.0.1', port: 0, storage: 'memory', logLevel: 'debug', auth: 'jwt', authJwtSecret: SECRET });
    const srv = (server = await startServer(config, { logger, telemetry }));
    const token = await new SignJWT({ sub: 'grace', docs: { 'x/*': 'write' }, exp: Math.floor(Date.now() / 1000) + 600 })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(SECRET));
    const p = connectProvider(srv.url, 'x/1', new Y.Doc(), { params: { token } });
    providers.push(p);
    await synced(p);
    p.doc.getMap('m').set('k', 1);
    await waitFor(() => srv.registry.get('x/1')?.doc.getMap('m').get('k') === 1);
    // Refusals log and trace too: a forbidden document and a damaged token.
    for (const [doc, t] of [['y/1', token], ['x/1', `${token}x`]] as const) {
      const refused = new RawClient(`${srv.url}/${doc}?token=${t}`);
      await refused.closed;
    }
    destroyAll(providers.splice(0));
    await srv.close();
    server = undefined;
    const finished = spans.getFinishedSpans(); // before shutdown, which clears the exporter
    await telemetry.close();
    const logText = JSON.stringify(lines);
    const spanText = JSON.stringify(finished.map((s) => ({ name: s.name, attributes: s.attributes, events: s.events, status: s.status })));
    const signature = token.split('.')[2] as string;
    for (const text of [logText, spanText]) {
      expect(text).not.toContain(signature);
      expect(text).not.toContain(SECRET);
    }
    expect(lines.some((l) => l.user === 'grace')).toBe(true);
    expect(lines.filter((l) => l.code === 'SKEIN_ERR_FORBIDDEN' || l.code === 'SKEIN_ERR_AUTH_SIGNATURE')).toHaveLength(2);
    expect(finished.some((s) => s.attributes['enduser.id'] === 'grace')).toBe(true);
  });
});
