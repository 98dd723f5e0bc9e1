import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { ErrorCode, FluxError } from '@flux/domain';

/**
 * True for every address that is not global unicast: loopback, private, link-local, unique
 * local, carrier-grade NAT, multicast, reserved, and the IPv6 forms that embed an IPv4 address
 * (mapped, NAT64, 6to4, Teredo), so no spelling of a private address slips through.
 */
export function isBlockedAddress(address: string): boolean {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  if (!ipaddr.isValid(bare)) return true;
  // process() turns an IPv4-mapped IPv6 address into the IPv4 address it carries.
  return ipaddr.process(bare).range() !== 'unicast';
}

/** A fetch target resolves to an address a public instance must not reach. */
export const blockedAddressError = (host: string, address: string): FluxError =>
  new FluxError(
    ErrorCode.AddressNotAllowed,
    `${host} resolves to ${address}, a loopback, link-local, private or reserved address (allowed only with FLUX_CONNECTOR_ALLOW_PRIVATE_NETWORKS)`,
  );

const LOOKUP_TIMEOUT_MS = 5_000;

/** The host of a URL without IPv6 brackets. */
export const bareHostOf = (url: URL): string => (url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname);

/**
 * Refuses a URL whose host is, or resolves to, a blocked address. Used when a source is
 * created; the poller checks again on every connection, since DNS answers change.
 */
export async function checkFetchTarget(url: URL, allowPrivateNetworks: boolean): Promise<void> {
  if (allowPrivateNetworks) return;
  const host = bareHostOf(url);
  if (isIP(host) !== 0) {
    if (isBlockedAddress(host)) throw blockedAddressError(url.hostname, host);
    return;
  }
  let addresses: { address: string }[];
  let timer: NodeJS.Timeout | undefined;
  try {
    // A resolver that never answers must not hold the request (getaddrinfo has no timeout of its own).
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error('DNS lookup timed out')), LOOKUP_TIMEOUT_MS);
    });
    addresses = await Promise.race([lookup(host, { all: true }), timeout]);
  } catch (error) {
    throw new FluxError(ErrorCode.Validation, `url: ${host} cannot be resolved`, { cause: error });
  } finally {
    clearTimeout(timer);
  }
  const blocked = addresses.find((entry) => isBlockedAddress(entry.address));
  if (blocked !== undefined) throw blockedAddressError(url.hostname, blocked.address);
}
