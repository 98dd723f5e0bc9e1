import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import { Agent, fetch as undiciFetch } from 'undici';
import { bareHostOf, blockedAddressError, isBlockedAddress } from '@flux/core';

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A dns.lookup that fails when any address of the host is blocked: checked after resolution, on every connection. */
function guardedLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error !== null) {
      callback(error, []);
      return;
    }
    const blocked = addresses.find((entry) => isBlockedAddress(entry.address));
    if (blocked !== undefined || addresses.length === 0) {
      callback(blockedAddressError(hostname, blocked?.address ?? 'no address') as NodeJS.ErrnoException, []);
      return;
    }
    if (options.all === true) callback(null, addresses);
    else callback(null, addresses[0]!.address, addresses[0]!.family);
  });
}

export interface GuardedFetchOptions {
  /** Allow loopback and private targets (FLUX_CONNECTOR_ALLOW_PRIVATE_NETWORKS). */
  readonly allowPrivateNetworks: boolean;
  /** Redirects followed per request (default 3). */
  readonly maxRedirects?: number;
  /** Time to establish a connection (default 10 s). */
  readonly connectTimeoutMs?: number;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * A fetch for user-supplied URLs: http(s) only, every connection's resolved addresses checked
 * (so DNS rebinding and redirects to internal hosts are refused), redirects followed by hand up
 * to a bound and stripped of every header but Accept when they change origin.
 */
export function guardedFetch(options: GuardedFetchOptions): typeof fetch {
  const agent = new Agent({
    connect: {
      timeout: options.connectTimeoutMs ?? 10_000,
      ...(options.allowPrivateNetworks ? {} : { lookup: guardedLookup }),
    },
  });
  const maxRedirects = options.maxRedirects ?? 3;

  const guarded = async (input: string | URL, init: RequestInit = {}): Promise<Response> => {
    let url = new URL(input.toString());
    let headers = new Headers(init.headers);
    const origin = url.origin;
    for (let hop = 0; ; hop++) {
      checkTarget(url, options.allowPrivateNetworks);
      const response = (await undiciFetch(url, {
        method: 'GET',
        headers: Object.fromEntries(headers),
        redirect: 'manual',
        dispatcher: agent,
        ...(init.signal === undefined || init.signal === null ? {} : { signal: init.signal }),
      })) as unknown as Response;
      const location = response.headers.get('location');
      if (!REDIRECTS.has(response.status) || location === null) return response;
      await response.body?.cancel();
      if (hop >= maxRedirects) throw new Error(`more than ${maxRedirects} redirects`);
      url = new URL(location, url);
      // Whatever header carries the credential, another origin gets none of them.
      if (url.origin !== origin) headers = new Headers({ accept: headers.get('accept') ?? '*/*' });
    }
  };
  return guarded as typeof fetch;
}

/** The scheme, and a literal IP host (which connects without any lookup), are checked before connecting. */
function checkTarget(url: URL, allowPrivate: boolean): void {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`${url.protocol} URLs are not fetched`);
  if (allowPrivate) return;
  const host = bareHostOf(url);
  if (isIP(host) !== 0 && isBlockedAddress(host)) throw blockedAddressError(url.hostname, host);
}
