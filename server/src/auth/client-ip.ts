import { BlockList, isIP } from 'node:net';

/**
 * Who is the client: the socket's peer address, or — behind trusted proxies
 * (`--trust-proxy`) — an address from `X-Forwarded-For`.
 *
 * The rule (docs/security.md): when the socket peer is not a trusted proxy, the client is the
 * socket peer and `X-Forwarded-For` is ignored. When it is, the header's addresses are read
 * from right to left (each proxy appends the address it received the connection from), every
 * trusted proxy is skipped, and the client is the **rightmost address that is not a trusted
 * proxy**. Everything left of it was written by the client itself and is never read. When
 * every listed address is trusted (or the header is absent) the client is the leftmost
 * trusted hop. A malformed entry stops the walk: the client is then the trusted hop that
 * forwarded it (a proxy that writes garbage is treated as the client).
 */
export class ClientIpResolver {
  readonly #trusted: BlockList | undefined;

  /** `trustedProxies`: IPs and CIDR ranges of the proxies in front of the server (empty: none). */
  constructor(trustedProxies: readonly string[] = []) {
    if (trustedProxies.length === 0) return;
    const list = new BlockList();
    for (const entry of trustedProxies) addEntry(list, entry);
    this.#trusted = list;
  }

  get trustsProxies(): boolean {
    return this.#trusted !== undefined;
  }

  /** The client address of a connection: `socketAddress` as reported by Node, `forwardedFor` the header value. */
  resolve(socketAddress: string | undefined, forwardedFor: string | string[] | undefined): string {
    const peer = normalizeIp(socketAddress ?? '') ?? 'unknown';
    if (this.#trusted === undefined || !this.#isTrusted(peer) || forwardedFor === undefined) return peer;
    const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',');
    let client = peer;
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = normalizeIp(hops[i]!.trim());
      if (hop === undefined) return client;
      client = hop;
      if (!this.#isTrusted(hop)) return hop;
    }
    return client;
  }

  #isTrusted(ip: string): boolean {
    const family = isIP(ip);
    return family !== 0 && this.#trusted!.check(ip, family === 4 ? 'ipv4' : 'ipv6');
  }
}

/** Split and check a `--trust-proxy` value: comma-separated IPs or CIDR ranges. Throws a RangeError on a bad entry. */
export function parseTrustedProxies(text: string): string[] {
  const entries = text.split(',').map((e) => e.trim()).filter((e) => e !== '');
  const probe = new BlockList();
  for (const entry of entries) addEntry(probe, entry);
  return entries;
}

function addEntry(list: BlockList, entry: string): void {
  const slash = entry.indexOf('/');
  const ip = slash < 0 ? entry : entry.slice(0, slash);
  const family = isIP(ip);
  if (family === 0) throw new RangeError(`not an IP address or CIDR range: ${JSON.stringify(entry)}`);
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (slash < 0) {
    list.addAddress(ip, type);
    return;
  }
  const bitsText = entry.slice(slash + 1);
  const bits = Number(bitsText);
  if (!/^\d{1,3}$/.test(bitsText) || bits > (family === 4 ? 32 : 128)) {
    throw new RangeError(`bad prefix length in ${JSON.stringify(entry)}`);
  }
  list.addSubnet(ip, bits, type);
}

/** A valid address in canonical form (IPv4-mapped IPv6 → IPv4, zone and brackets dropped); undefined when not an IP. */
export function normalizeIp(text: string): string | undefined {
  let ip = text;
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  const zone = ip.indexOf('%');
  if (zone >= 0) ip = ip.slice(0, zone);
  const family = isIP(ip);
  if (family === 4) return ip;
  if (family !== 6) return undefined;
  const lower = ip.toLowerCase();
  const mapped = /^(?:0{0,4}:){0,5}:?ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (mapped !== null && isIP(mapped[1]!) === 4) return mapped[1];
  return lower;
}

/**
 * The key per-IP limits count under: an IPv4 address as is, an IPv6 address by its /64
 * prefix (one subscriber usually holds a whole /64, so per-address limits would be free to
 * dodge).
 */
export function ipLimitKey(ip: string): string {
  if (isIP(ip) !== 6) return ip;
  const groups = expandIpv6(ip);
  return `${groups.slice(0, 4).join(':')}::/64`;
}

function expandIpv6(ip: string): string[] {
  const [head = '', tail] = ip.split('::');
  const part = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const left = part(head);
  const right = tail === undefined ? [] : part(tail);
  // An embedded IPv4 tail counts as two groups; only the first four groups matter here.
  const width = left.length + right.length + right.filter((g) => g.includes('.')).length;
  const zeros = tail === undefined ? [] : Array.from({ length: Math.max(0, 8 - width) }, () => '0');
  return [...left, ...zeros, ...right].map((g) => (g.includes('.') ? g : (g.replace(/^0+(?=.)/, '') || '0')));
}
