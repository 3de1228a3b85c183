import { spawn } from 'node:child_process';
import { GraphErrors } from '../errors.js';

/** Graphviz's dot, or where FAASPROV_GRAPHVIZ_DOT says it is. */
function dotBinary(): string {
  return process.env.FAASPROV_GRAPHVIZ_DOT || 'dot';
}

/**
 * DOT rendered to a picture by Graphviz, without blocking the event loop (the graph service renders
 * PNG exports while it serves other requests). Missing or failing Graphviz is FP_ERR_NO_GRAPHVIZ.
 */
export function renderGraphviz(dot: string, format: 'svg' | 'png', timeoutMs = 60000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(dotBinary(), [`-T${format}`], { stdio: ['pipe', 'pipe', 'pipe'], timeout: timeoutMs });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => undefined); // dot gone: its exit or spawn error says why
    child.on('error', (e: NodeJS.ErrnoException) =>
      reject(GraphErrors.FP_ERR_NO_GRAPHVIZ(format, e.code === 'ENOENT' ? 'Graphviz is not installed: apt-get install graphviz (or export DOT and render it elsewhere)' : e.message)),
    );
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else reject(GraphErrors.FP_ERR_NO_GRAPHVIZ(format, `Graphviz failed: ${Buffer.concat(err).toString().trim().slice(0, 300) || `exit ${code}`}`));
    });
    child.stdin.end(dot);
  });
}
