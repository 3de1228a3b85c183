import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { AgentErrors } from './errors.js';

export type Tier = 'ephemeral' | 'durable';

/** An F3 volume as mounted on this node. */
export interface Volume {
  /** The mount point (absolute, normalized, no trailing slash). */
  mount: string;
  id: string;
  tier: Tier;
  /** The node the volume's data lives on (locality); the agent's node when not configured. */
  node: string;
}

/** Where a path lies: its volume and the path inside it (always starting with /). */
export interface VolumePath {
  volume: Volume;
  path: string;
}

const VOLUME_ID = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/;
const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

/**
 * --volume MOUNT=ID:TIER[:NODE], e.g. /mnt/f3-scratch=scratch:ephemeral or
 * /mnt/f3-data=shop-data:durable:storage-1.
 */
export function parseVolumeSpec(spec: string, defaultNode: string): Volume {
  const eq = spec.lastIndexOf('=');
  if (eq <= 0) throw AgentErrors.FP_ERR_BAD_VOLUME(spec, 'expected MOUNT=ID:TIER[:NODE]');
  const mount = spec.slice(0, eq);
  const [id, tier, node, ...rest] = spec.slice(eq + 1).split(':');
  if (!mount.startsWith('/')) throw AgentErrors.FP_ERR_BAD_VOLUME(spec, 'the mount point must be an absolute path');
  if (!id || !VOLUME_ID.test(id)) throw AgentErrors.FP_ERR_BAD_VOLUME(spec, 'a volume id is letters, digits and ._/- (at most 128)');
  if (tier !== 'ephemeral' && tier !== 'durable') throw AgentErrors.FP_ERR_BAD_VOLUME(spec, 'the tier is ephemeral or durable');
  if (node !== undefined && !NODE_NAME.test(node)) throw AgentErrors.FP_ERR_BAD_VOLUME(spec, 'bad node name');
  if (rest.length > 0) throw AgentErrors.FP_ERR_BAD_VOLUME(spec, 'too many fields');
  return { mount: normalizeMount(mount), id, tier, node: node ?? defaultNode };
}

/** --volume-fstype TYPE=TIER: every mount of that file-system type is a volume. */
export function parseFstypeSpec(spec: string): { fstype: string; tier: Tier } {
  const [fstype, tier, ...rest] = spec.split('=');
  if (!fstype || !/^[a-z0-9._-]{1,64}$/.test(fstype) || rest.length > 0) throw AgentErrors.FP_ERR_BAD_VOLUME(spec, 'expected TYPE=TIER, e.g. fuse.bindfs=durable');
  if (tier !== 'ephemeral' && tier !== 'durable') throw AgentErrors.FP_ERR_BAD_VOLUME(spec, 'the tier is ephemeral or durable');
  return { fstype, tier };
}

function normalizeMount(m: string): string {
  const n = posix.normalize(m);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

/** /proc/mounts escapes space, tab, newline and backslash as octal. */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Volumes found in the mount table by file-system type; the id is the mount's source, or its path. */
export function discoverVolumes(types: { fstype: string; tier: Tier }[], node: string, mounts = '/proc/mounts'): Volume[] {
  if (types.length === 0) return [];
  const out: Volume[] = [];
  for (const line of readFileSync(mounts, 'utf8').split('\n')) {
    const [src, dir, fstype] = line.split(' ');
    if (!src || !dir || !fstype) continue;
    const t = types.find((x) => x.fstype === fstype);
    if (!t) continue;
    const mount = normalizeMount(unescapeMount(dir));
    const candidate = unescapeMount(src).replace(/^\/+/, '');
    const id = VOLUME_ID.test(candidate) && candidate !== fstype ? candidate : mount.slice(1).replace(/[^A-Za-z0-9._/-]/g, '_') || 'root';
    out.push({ mount, id, tier: t.tier, node });
  }
  return out;
}

/** Maps absolute paths to the volume they lie on (the longest mount point that contains them). */
export class VolumeTable {
  private readonly volumes: Volume[];

  constructor(volumes: Volume[]) {
    const seen = new Map<string, Volume>();
    for (const v of volumes) {
      const prev = seen.get(v.mount);
      if (prev && (prev.id !== v.id || prev.tier !== v.tier)) throw AgentErrors.FP_ERR_BAD_VOLUME(v.mount, `mounted as ${prev.id} and as ${v.id}`);
      seen.set(v.mount, v);
    }
    this.volumes = [...seen.values()].sort((a, b) => b.mount.length - a.mount.length);
  }

  /** From the command line: --volume specs and --volume-fstype mount-table lookups. */
  static fromSpecs(volumes: string[], fstypes: string[], node: string): VolumeTable {
    return new VolumeTable([...volumes.map((v) => parseVolumeSpec(v, node)), ...discoverVolumes(fstypes.map(parseFstypeSpec), node)]);
  }

  get size(): number {
    return this.volumes.length;
  }

  list(): readonly Volume[] {
    return this.volumes;
  }

  resolve(path: string): VolumePath | undefined {
    for (const v of this.volumes) {
      if (path === v.mount) return { volume: v, path: '/' };
      if (path.startsWith(v.mount) && (v.mount === '/' || path[v.mount.length] === '/')) {
        return { volume: v, path: v.mount === '/' ? path : path.slice(v.mount.length) };
      }
    }
    return undefined;
  }
}
