/**
 * Where alert webhooks and retraining-hook URLs may be posted. A rule's URL is written by
 * whoever manages alert rules, but the POST leaves from the server, inside the network: the
 * destination is checked on the address actually connected to (after DNS), never followed
 * through a redirect, and link-local addresses (cloud metadata services) are always refused.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { ferry, type FerryError } from '../core/errors.js';

/** `FERRY_WEBHOOK_ALLOW` / `FERRY_WEBHOOK_DENY`: addresses, CIDR ranges and host names. */
export interface DestinationRules {
  /** When not empty, only these destinations (an address in a range, or a host name) are posted to. */
  readonly allow: readonly string[];
  /** Never posted to (on top of the link-local and unspecified ranges, always refused). */
  readonly deny: readonly string[];
}

/** Link-local (169.254.169.254 is the cloud metadata service) and "this host" addresses. */
const ALWAYS_DENIED = ['169.254.0.0/16', 'fe80::/10', '0.0.0.0/8', '::/128'];

interface Entries {
  readonly ranges: BlockList;
  /** Lower-case host names; ".example.com" matches every subdomain of example.com. */
  readonly hosts: readonly string[];
  readonly count: number;
}

/** The checked destinations of webhook POSTs. */
export class WebhookDestinations {
  readonly #allow: Entries;
  readonly #deny: Entries;

  constructor(rules: DestinationRules = { allow: [], deny: [] }) {
    this.#allow = entries(rules.allow, 'FERRY_WEBHOOK_ALLOW');
    this.#deny = entries([...ALWAYS_DENIED, ...rules.deny], 'FERRY_WEBHOOK_DENY');
  }

  /** Why posting to `address` (reached through `host`) is refused, or undefined when it is allowed. */
  refusal(host: string, address: string): string | undefined {
    const name = host.toLowerCase().replace(/^\[|\]$/g, '');
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    const mapped = family === 'ipv6' ? /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1] : undefined;
    const inRanges = (list: BlockList) => list.check(address, family) || (mapped !== undefined && list.check(mapped, 'ipv4'));
    if (inRanges(this.#deny.ranges) || hostMatches(this.#deny.hosts, name)) return `${address} is on the deny list (link-local and unspecified addresses always are; FERRY_WEBHOOK_DENY adds more)`;
    if (this.#allow.count > 0 && !inRanges(this.#allow.ranges) && !hostMatches(this.#allow.hosts, name)) return `${name === address ? address : `${name} (${address})`} is not on FERRY_WEBHOOK_ALLOW`;
    return undefined;
  }

  /**
   * Check a destination when a rule is stored: refuses (FERRY_E_WEBHOOK_REFUSED) a URL whose literal
   * address, or any address its host name resolves to here, would be refused when posting. A name that
   * does not resolve here (e.g. a cluster-internal service) is accepted: it is checked again at every POST.
   */
  async check(url: string): Promise<void> {
    const target = new URL(url);
    const host = target.hostname.replace(/^\[|\]$/g, '');
    const addresses = isIP(host) !== 0
      ? [host]
      : await new Promise<string[]>((resolve) => dnsLookup(host, { all: true }, (err, found) => resolve(err ? [] : found.map((a) => a.address))));
    const why = addresses.map((a) => this.refusal(host, a)).find((w) => w !== undefined);
    if (why) throw refused(url, why);
  }

  /**
   * POST `body` to `url`, connecting only to an allowed address; a redirect is answered, never
   * followed. Resolves with the status (and Location of a redirect); rejects with
   * FERRY_E_WEBHOOK_REFUSED before any connection to a refused address, or with a network error.
   */
  async post(url: string, body: string, headers: Record<string, string>, signal: AbortSignal): Promise<{ status: number; location?: string }> {
    const target = new URL(url);
    const literal = target.hostname.replace(/^\[|\]$/g, '');
    if (isIP(literal) !== 0) {
      const why = this.refusal(literal, literal);
      if (why) throw refused(url, why);
    }
    const lookup = (hostname: string, options: LookupOptions, callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void) => {
      dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
        if (err) return callback(err, '');
        const why = addresses.map((a) => this.refusal(hostname, a.address)).find((w) => w !== undefined);
        if (why) return callback(refused(url, why), '');
        if (options.all) return callback(null, addresses);
        const [first] = addresses;
        return first ? callback(null, first.address, first.family) : callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '');
      });
    };
    // The HTTP clients (TLS included) load with the first POST, not with every command that opens Ferry.
    const client = target.protocol === 'https:' ? (await import('node:https')).default : (await import('node:http')).default;
    return new Promise((resolve, reject) => {
      const req = client.request(target, { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, lookup, signal }, (res) => {
        res.resume(); // the answer's body is not used
        res.on('error', () => undefined);
        const location = res.headers.location;
        resolve({ status: res.statusCode ?? 0, ...(location ? { location } : {}) });
      });
      req.on('error', reject);
      req.end(body);
    });
  }
}

/** The error of a refused destination (also what `isRefused` recognises). */
function refused(url: string, reason: string): FerryError {
  return ferry('FERRY_E_WEBHOOK_REFUSED', { url: redact(url), reason });
}

/** The URL without credentials or query (which may hold tokens), for messages and the alert history. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

function entries(list: readonly string[], variable: string): Entries {
  const ranges = new BlockList();
  const hosts: string[] = [];
  for (const raw of list) {
    const entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    const [address, prefix, ...extra] = entry.split('/');
    const family = isIP(address ?? '');
    if (family !== 0 && address !== undefined) {
      const type = family === 6 ? 'ipv6' : 'ipv4';
      const bits = prefix === undefined ? (family === 6 ? 128 : 32) : Number(prefix);
      if (extra.length > 0 || !Number.isInteger(bits) || bits < 0 || bits > (family === 6 ? 128 : 32)) {
        throw ferry('FERRY_E_CONFIG_INVALID', { detail: `${variable}: "${raw}" is not an address, a CIDR range (10.0.0.0/8) or a host name` });
      }
      ranges.addSubnet(address, bits, type);
    } else if (/^\.?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(entry)) {
      hosts.push(entry);
    } else {
      throw ferry('FERRY_E_CONFIG_INVALID', { detail: `${variable}: "${raw}" is not an address, a CIDR range (10.0.0.0/8) or a host name` });
    }
  }
  return { ranges, hosts, count: list.filter((e) => e.trim() !== '').length };
}

function hostMatches(hosts: readonly string[], name: string): boolean {
  return hosts.some((h) => (h.startsWith('.') ? name.endsWith(h) || name === h.slice(1) : name === h));
}
