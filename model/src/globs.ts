/** Shell-style globs over absolute paths: ** any depth, * one segment, ? one character. */
export function globMatcher(globs: readonly string[]): (path: string) => boolean {
  const res = globs.map((g) => {
    let re = '';
    for (let i = 0; i < g.length; i++) {
      const c = g[i]!;
      if (c === '*' && g[i + 1] === '*') {
        re += g[i + 2] === '/' ? '(?:.*/)?' : '.*';
        i += g[i + 2] === '/' ? 2 : 1;
      } else if (c === '*') re += '[^/]*';
      else if (c === '?') re += '[^/]';
      else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
    return new RegExp(`^${re}$`);
  });
  return (path) => res.some((r) => r.test(path));
}

/**
 * The literal directory prefix of each absolute glob (up to its last '/' before the first
 * wildcard): what the kernel can compare cheaply before the agent matches the whole glob.
 * Globs that start with a wildcard have no such prefix and are left out.
 */
export function globPrefixes(globs: readonly string[]): string[] {
  const out = new Set<string>();
  for (const g of globs) {
    const wild = g.search(/[*?]/);
    const lit = wild < 0 ? g : g.slice(0, g.lastIndexOf('/', wild) + 1);
    if (lit.startsWith('/') && lit.length > 1) out.add(lit);
  }
  // A prefix that another one covers adds nothing.
  return [...out].filter((p) => ![...out].some((q) => q !== p && p.startsWith(q))).sort();
}
