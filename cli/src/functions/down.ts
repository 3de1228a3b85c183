/** Removes everything a `functions up` recorded in its state file: instances, namespaces, the bridge. */
import { rmSync } from 'node:fs';
import { stopInstance } from './instances.js';
import { removeBridge, removeInstanceNetwork } from './network.js';
import { alive, readState, removeState, type FunctionsState } from './state.js';

export async function cleanUp(s: FunctionsState, graceMs: number): Promise<void> {
  await Promise.all(s.instances.map((i) => stopInstance(i.pid, i.start, graceMs)));
  for (const i of s.instances) await removeInstanceNetwork(i.netns);
  if (s.bridge) await removeBridge(s.bridge);
}

export interface DownResult {
  found: boolean;
  /** The up process was alive and stopped itself. */
  stoppedUp: boolean;
  instances: number;
}

/**
 * Stops a running `functions up` (SIGTERM, it cleans up itself); when it is gone or does not stop in
 * time, removes what its state file lists.
 */
export async function functionsDown(stateFile: string, graceMs: number, log: (l: string) => void): Promise<DownResult> {
  const s = readState(stateFile);
  if (!s) return { found: false, stoppedUp: false, instances: 0 };
  let stoppedUp = false;
  if (alive(s.pid, s.start)) {
    process.kill(s.pid, 'SIGTERM');
    const end = Date.now() + graceMs + 15000;
    while (Date.now() < end && alive(s.pid, s.start)) await new Promise((r) => setTimeout(r, 100));
    stoppedUp = !alive(s.pid, s.start);
    if (!stoppedUp) {
      log(`functions up (pid ${s.pid}) did not stop; killing it`);
      process.kill(s.pid, 'SIGKILL');
    }
  }
  const left = readState(stateFile);
  if (left) {
    if (!stoppedUp) log(`cleaning up after a functions up that is gone (pid ${s.pid})`);
    await cleanUp(left, graceMs);
    removeState(stateFile);
  }
  rmSync(`${stateFile}.lock`, { force: true });
  return { found: true, stoppedUp, instances: s.instances.length };
}
