import { SkeinError } from '../errors/skein-error.js';

/** `host:port,host:port` → nodes; throws SKEIN_ERR_CONFIG_INVALID on a malformed entry. */
export function parseClusterNodes(text: string): { host: string; port: number }[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((entry) => {
      const m = /^(\[[^\]]+\]|[^:\s]+):(\d{1,5})$/.exec(entry);
      const port = Number(m?.[2]);
      if (m === null || m[1] === undefined || !(port > 0 && port < 65536)) {
        throw new SkeinError('SKEIN_ERR_CONFIG_INVALID', `invalid Redis Cluster node "${entry}": expected host:port`);
      }
      return { host: m[1].replace(/^\[|\]$/g, ''), port };
    });
}
