/** Small waits the benchmarks that run real processes share. */
import { createServer } from 'node:net';

/** A port nothing listens on now (the OS picks it). */
export const freePort = (): Promise<number> =>
  new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });

/** Polls ok() every 200 ms until it holds; throws, naming the benchmark and what it waited for, after ms. */
export async function until(bench: string, what: string, ok: () => Promise<boolean> | boolean, ms: number): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 200))) if (await ok()) return;
  throw new Error(`${bench}: timed out waiting for ${what}`);
}
