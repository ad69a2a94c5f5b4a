// The libraries a Skein server cannot start without, each loaded and used once, nothing of
// Skein's own (start-rss.mjs `floor`, which runs a copy of this file from server/dist so that
// its imports resolve to the same files as Skein's). FLOOR_WITHOUT=zod,otel leaves those out.
import * as Y from 'yjs';
import 'y-protocols/sync';
import 'y-protocols/awareness';
import { WebSocketServer } from 'ws';
import pino from 'pino';
import http from 'node:http';

const without = new Set((process.env.FLOOR_WITHOUT ?? '').split(','));
const httpServer = http.createServer();
new WebSocketServer({ server: httpServer });
httpServer.listen(0, '127.0.0.1');
pino({ level: 'warn' });
new Y.Doc().getMap('m').set('k', 1);
if (!without.has('otel')) {
  const { MeterProvider } = await import('@opentelemetry/sdk-metrics');
  const { PrometheusExporter } = await import('@opentelemetry/exporter-prometheus');
  new MeterProvider({ readers: [new PrometheusExporter({ preventServerStart: true })] }).getMeter('floor').createCounter('c').add(1);
}
if (!without.has('zod')) {
  const { z } = await import('zod');
  z.object({ a: z.string() }).parse({ a: 'x' });
}
setInterval(() => {}, 1000);
