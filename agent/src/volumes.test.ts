import { describe, expect, it } from '@jest/globals';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { discoverVolumes, parseFstypeSpec, parseVolumeSpec, VolumeTable } from './volumes.js';

describe('F3 volumes', () => {
  it('parses MOUNT=ID:TIER[:NODE], defaulting the node to this one', () => {
    expect(parseVolumeSpec('/mnt/f3/=data:durable:storage-1', 'n1')).toEqual({ mount: '/mnt/f3', id: 'data', tier: 'durable', node: 'storage-1' });
    expect(parseVolumeSpec('/mnt/x=scratch:ephemeral', 'n1')).toMatchObject({ node: 'n1' });
  });

  it.each([['mnt=x:durable'], ['/m=x:warm'], ['/m=:durable'], ['/m=x y:durable'], ['/m=x:durable:n:extra'], ['/m']])('refuses %j', (spec) => {
    expect(() => parseVolumeSpec(spec, 'n1')).toThrow(/FP_ERR_BAD_VOLUME|bad F3 volume/);
  });

  it('maps a path to the longest mount that contains it, at path boundaries only', () => {
    const t = new VolumeTable([parseVolumeSpec('/mnt/a=a:durable', 'n'), parseVolumeSpec('/mnt/a/b=b:ephemeral', 'n')]);
    expect(t.resolve('/mnt/a/b/c.txt')).toMatchObject({ volume: { id: 'b' }, path: '/c.txt' });
    expect(t.resolve('/mnt/a/x')).toMatchObject({ volume: { id: 'a' }, path: '/x' });
    expect(t.resolve('/mnt/ab/x')).toBeUndefined();
    expect(t.resolve('/mnt/a')).toMatchObject({ path: '/' });
  });

  it('refuses one mount point named as two volumes', () => {
    expect(() => new VolumeTable([parseVolumeSpec('/m=a:durable', 'n'), parseVolumeSpec('/m=b:durable', 'n')])).toThrow(/mounted as a and as b/);
  });

  it('discovers mounts by file-system type, unescaping the mount table', () => {
    const d = mkdtempSync(join(tmpdir(), 'fp-mounts-'));
    const f = join(d, 'mounts');
    writeFileSync(f, ['/srv/data /mnt/f3\\040data fuse rw 0 0', 'tmpfs /tmp tmpfs rw 0 0', 'proc /proc proc rw 0 0', ''].join('\n'));
    expect(discoverVolumes([parseFstypeSpec('fuse=durable'), parseFstypeSpec('tmpfs=ephemeral')], 'n1', f)).toEqual([
      { mount: '/mnt/f3 data', id: 'srv/data', tier: 'durable', node: 'n1' },
      { mount: '/tmp', id: 'tmp', tier: 'ephemeral', node: 'n1' },
    ]);
    expect(() => parseFstypeSpec('fuse')).toThrow(/ephemeral or durable/);
    expect(() => parseFstypeSpec('a b=durable')).toThrow(/TYPE=TIER/);
  });
});
