// DNS rebinding protection: a page on an attacker's domain can resolve that domain to
// 127.0.0.1 and then read the viewer's responses as same-origin. Its requests still carry the
// attacker's name in `Host:`, so only loopback names, the bind address and one configured name
// are answered.

const LOOPBACK = ['localhost', '127.0.0.1', '[::1]'];
const WILDCARD = new Set(['', '0.0.0.0', '::', '[::]']);

/** The host names (lower case, IPv6 in brackets) the viewer answers to. */
export function allowedHostNames(bindHost: string, hostName?: string): Set<string> {
  const names = new Set(LOOPBACK);
  // a specific bind address typed as an IP literal cannot be rebound; a wildcard is not a name
  const bind = bindHost.includes(':') && !bindHost.startsWith('[') ? `[${bindHost}]` : bindHost;
  if (!WILDCARD.has(bind)) names.add(bind.toLowerCase());
  if (hostName) names.add(hostName.toLowerCase());
  return names;
}

/**
 * Whether a request's `Host:` header names this server: an allowed name with the server's
 * port, or without a port when the server listens on 80 (browsers then omit it).
 */
export function hostAllowed(header: string | undefined, port: number, names: ReadonlySet<string>): boolean {
  if (!header) return false;
  const h = header.toLowerCase();
  const bracket = h.startsWith('[') ? h.indexOf(']') + 1 : 0;
  const colon = h.indexOf(':', bracket);
  const name = colon < 0 ? h : h.slice(0, colon);
  const portText = colon < 0 ? null : h.slice(colon + 1);
  if (!names.has(name)) return false;
  return portText === null ? port === 80 : portText === String(port);
}
