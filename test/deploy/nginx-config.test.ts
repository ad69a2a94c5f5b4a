import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NGINX_TEMPLATE, nginxBinary, nginxTest, renderTemplate, writeNginxPrefix } from './nginx.js';

/**
 * The compose stack's nginx config (deploy/compose/nginx/templates/skein.conf.template),
 * rendered as the nginx image renders it, passes `nginx -t` of Debian's nginx; and it says what
 * docs/deploy.md says it does.
 */

const nginx = nginxBinary();
const template = readFileSync(NGINX_TEMPLATE, 'utf8');
const values = { NGINX_PORT: '127.0.0.1:18080', SKEIN_UPSTREAM_A: '127.0.0.1:18081', SKEIN_UPSTREAM_B: '127.0.0.1:18082' };

describe('nginx config', () => {
  it.runIf(nginx !== undefined)('passes nginx -t; a broken copy does not', () => {
    const prefix = writeNginxPrefix(values);
    try {
      const ok = nginxTest(nginx as string, prefix);
      expect(ok.status, ok.output).toBe(0);
      expect(ok.output).toContain('test is successful');
      // Not vacuous: the same check refuses a directive nginx does not know.
      const site = join(prefix.dir, 'skein.conf');
      writeFileSync(site, readFileSync(site, 'utf8').replace('proxy_read_timeout 1h;', 'proxy_read_timeout_typo 1h;'));
      const broken = nginxTest(nginx as string, prefix);
      expect(broken.status).not.toBe(0);
      expect(broken.output).toContain('unknown directive "proxy_read_timeout_typo"');
    } finally {
      rmSync(prefix.dir, { recursive: true, force: true });
    }
  });

  it('WebSocket upgrade, long timeouts, document affinity by URI with failover, no /metrics, no query strings in the log', () => {
    const site = renderTemplate(template, { ...values, NGINX_ACCESS_LOG: '/dev/null' });
    const directive = (name: string): string[] => [...site.matchAll(new RegExp(`^\\s*${name}\\s+([^;{}]+);`, 'gm'))].map((m) => m[1] as string);
    expect(directive('hash')).toEqual(['$request_uri consistent']);
    // Never marked down (a WebSocket counts as a success only when it ends): see the template.
    expect(directive('server')).toEqual([`${values.SKEIN_UPSTREAM_A} max_fails=0`, `${values.SKEIN_UPSTREAM_B} max_fails=0`]);
    expect(directive('proxy_set_header')).toEqual(expect.arrayContaining(['Upgrade $http_upgrade', 'Connection $connection_upgrade', 'X-Forwarded-For $proxy_add_x_forwarded_for']));
    expect(directive('proxy_http_version')).toEqual(['1.1']);
    expect(directive('proxy_read_timeout')).toEqual(['1h']);
    expect(directive('proxy_next_upstream')[0]?.split(' ')).toEqual(expect.arrayContaining(['error', 'timeout', 'http_502', 'http_503']));
    expect(site).toMatch(/location = \/metrics \{\s*return 404;/);
    const logFormat = /log_format skein_no_query([^;]+);/.exec(site)?.[1] ?? '';
    expect(logFormat).toContain('$uri');
    expect(logFormat).not.toMatch(/\$request\b|\$request_uri|\$args|\$query_string/);
  });

  it('a placeholder without a value is an error, not an empty upstream', () => {
    expect(() => renderTemplate(template, { NGINX_PORT: '1', NGINX_ACCESS_LOG: 'x', SKEIN_UPSTREAM_A: 'a:1' })).toThrow(/SKEIN_UPSTREAM_B/);
  });
});
