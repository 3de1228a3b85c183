/** What a template's Dockerfile sets for the running function: the final stage's ENV and WORKDIR. */

export interface DockerfileRuntime {
  env: Record<string, string>;
  workdir?: string;
}

/** Joins continuation lines and drops comments, as Docker's parser does. */
function instructions(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (const raw of text.split(/\r?\n/)) {
    if (cur === '' && /^\s*#/.test(raw)) continue;
    if (/\\\s*$/.test(raw)) {
      cur += raw.replace(/\\\s*$/, ' ');
      continue;
    }
    cur += raw;
    if (cur.trim() !== '') out.push(cur.trim());
    cur = '';
  }
  if (cur.trim() !== '') out.push(cur.trim());
  return out;
}

/** Splits `k=v k2="v 2"` into words, honouring double and single quotes and backslash escapes. */
function words(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | undefined;
  let inWord = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < s.length) cur += s[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < s.length) {
      cur += s[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote) throw new Error(`unterminated quote in ${JSON.stringify(s)}`);
  if (inWord) out.push(cur);
  return out;
}

/** ${VAR} and $VAR from earlier ENVs of the same stage, as Docker substitutes them. */
function substitute(v: string, env: Record<string, string>): string {
  return v.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_m, a: string | undefined, b: string | undefined) => env[(a ?? b)!] ?? '');
}

/**
 * The environment and working directory of the Dockerfile's last stage (the one that runs). base is
 * what the base image would set (PATH): it fills $VAR references but is not returned unless set.
 */
export function parseDockerfile(text: string, base: Record<string, string> = {}): DockerfileRuntime {
  let env: Record<string, string> = {};
  let workdir: string | undefined;
  let current: string | undefined;
  const stages = new Map<string, DockerfileRuntime>();
  const save = () => { if (current) stages.set(current, { env, workdir }); };
  for (const line of instructions(text)) {
    const m = /^(\w+)\s*(.*)$/s.exec(line);
    if (!m) continue;
    const op = m[1]!.toUpperCase();
    const rest = m[2]!;
    if (op === 'FROM') {
      // FROM an earlier stage inherits its ENV and WORKDIR; any other image starts afresh.
      const ws = words(rest).filter((w) => !w.startsWith('--'));
      const parent = stages.get((ws[0] ?? '').toLowerCase());
      env = parent ? { ...parent.env } : {};
      workdir = parent?.workdir;
      current = ws.length >= 3 && ws[1]!.toLowerCase() === 'as' ? ws[2]!.toLowerCase() : undefined;
    } else if (op === 'WORKDIR') {
      const w = substitute(words(rest)[0] ?? '', { ...base, ...env });
      workdir = w.startsWith('/') || workdir === undefined ? w : `${workdir.replace(/\/$/, '')}/${w}`;
    } else if (op === 'ENV') {
      const ws = words(rest);
      if (ws.length > 0 && !ws[0]!.includes('=')) {
        // Legacy form: ENV key value with spaces
        const key = ws[0]!;
        env[key] = substitute(rest.slice(rest.indexOf(key) + key.length).trim().replace(/^"(.*)"$/s, '$1'), { ...base, ...env });
      } else {
        const next = { ...env };
        for (const w of ws) {
          const eq = w.indexOf('=');
          if (eq <= 0) throw new Error(`ENV ${JSON.stringify(rest)}: ${JSON.stringify(w)} is not KEY=VALUE`);
          next[w.slice(0, eq)] = substitute(w.slice(eq + 1), { ...base, ...env });
        }
        env = next;
      }
    }
    save();
  }
  return { env, workdir };
}
