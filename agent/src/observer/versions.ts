/** The newest version of a file the observer knows: the µs time of the write that made it, and whose write it was. */
export interface FileVersion {
  version: number;
  /** The tenant of the process that wrote it; absent: no tenant (or found before capture). */
  tenant?: string;
}

/**
 * File versions by key (a path, or volume and path). A version belongs to the tenant whose
 * process wrote it, whoever reads it later: a reader's view of the version carries that tenant.
 */
export class FileVersions {
  private readonly map = new Map<string, FileVersion>();

  get(key: string): FileVersion | undefined {
    return this.map.get(key);
  }

  /** The current version (0: the content found before capture). */
  version(key: string): number {
    return this.map.get(key)?.version ?? 0;
  }

  /** A new version made at time t by a process of tenant: versions only grow. */
  next(key: string, t: number, tenant: string | undefined): number {
    const v = Math.max(t, this.version(key) + 1);
    this.map.set(key, tenant === undefined ? { version: v } : { version: v, tenant });
    return v;
  }

  delete(key: string): void {
    this.map.delete(key);
  }
}
