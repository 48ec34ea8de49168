/** `SCHEME://HOST[:PORT|:*]`; the host may be an IPv6 literal in brackets. */
const originPattern = /^(https?):\/\/(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(\d{1,5}|\*))?$/i;

/**
 * Tells whether a configured entry can match browser origins: `*`, an exact
 * origin, or an origin with `:*` for any port. Paths, queries and other
 * schemes are refused so a typo fails at start instead of never matching.
 */
export function isOriginPattern(pattern: string): boolean {
  return pattern === "*" || originPattern.test(pattern);
}

/**
 * Builds the check the CORS layer applies to the `Origin` request header.
 * Comparison ignores case (browsers send scheme and host in lower case); an
 * origin without a port matches a `:*` entry, since browsers omit default ports.
 */
export function createOriginMatcher(patterns: readonly string[]): (origin: string) => boolean {
  if (patterns.includes("*")) return () => true;
  const exact = new Set<string>();
  const anyPort = new Set<string>();
  for (const pattern of patterns) {
    const match = originPattern.exec(pattern);
    if (!match) continue;
    const base = `${match[1]}://${match[2]}`.toLowerCase();
    if (match[3] === "*") anyPort.add(base);
    else exact.add(pattern.toLowerCase());
  }
  return (origin) => {
    const match = originPattern.exec(origin);
    if (!match || match[3] === "*") return false;
    const normalized = origin.toLowerCase();
    return exact.has(normalized) || anyPort.has(`${match[1]}://${match[2]}`.toLowerCase());
  };
}
