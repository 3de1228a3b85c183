import { describe, expect, it } from '@jest/globals';
import { buildProgram } from './program.js';

describe('buildProgram', () => {
  it('scopes a watch program to the watched names and seeds', () => {
    const p = buildProgram({ scope: { kind: 'watch', comms: ['fwatchdog', 'a-very-long-watchdog-name'], seedPids: [10, 20] } });
    expect(p).toContain('comm == "fwatchdog"');
    expect(p).toContain('comm == "a-very-long-wat"'); // the kernel keeps 15 bytes
    expect(p).toContain('@t[10] = 1; @t[20] = 1;');
  });

  it("knows a warm instance's shim descriptors on /dev/null from before it started", () => {
    const p = buildProgram({ scope: { kind: 'watch', comms: ['w'], seedPids: [10], seedDevNull: [{ pid: 10, fd: 3 }] } });
    expect(p).toContain('@t[10] = 1; @dn[10, 3] = 1;');
    expect(() => buildProgram({ scope: { kind: 'watch', comms: ['w'], seedPids: [10], seedDevNull: [{ pid: 10, fd: -1 }] } })).toThrow(/bad seed fd/);
  });

  it('never deletes counter entries that a periodic print may be walking (bpftrace 0.17 aborts)', () => {
    const periodic = buildProgram({ scope: { kind: 'launcher', rootPid: 5 }, counterFlushSec: 1 });
    expect(periodic).not.toMatch(/delete\(@(s|rc|rb|wc|wb)\[/);
    expect(periodic).toContain('if (@rc[pid, $g, $fd]) { @rc[pid, $g, $fd] = 0; } if (@rb[pid, $g, $fd]) { @rb[pid, $g, $fd] = (uint64)0; }');
    const atEnd = buildProgram({ scope: { kind: 'launcher', rootPid: 5 } });
    expect(atEnd).toContain('if (@rc[pid, $g, $fd]) { delete(@rc[pid, $g, $fd]); }');
  });

  it('prints a counter flush on another thread\'s first op only when it holds a count', () => {
    const p = buildProgram({ scope: { kind: 'watch', comms: ['w'], seedPids: [] }, counterFlushSec: 1 });
    const switches = [...p.matchAll(/if \(\$mk && \$cur != 0 && \(\$cur >> 2\) != \(int64\)tid\) \{([^]*?)\n {6}\}/g)];
    expect(switches.length).toBeGreaterThan(0);
    for (const [, body] of switches) expect(body).toMatch(/\$since = @rc\[\$k\] \+ @wc\[\$k\];\s*if \(\$since != 0\) \{\s*printf\("C/);
  });

  it('deletes an entry that may be missing only after checking it (bpftrace 0.23 prints a helper error per missing delete)', () => {
    for (const flush of [0, 1]) {
      const p = buildProgram({ scope: { kind: 'watch', comms: ['w'], seedPids: [] }, counterFlushSec: flush });
      // Per-fd state and the marker descriptors: a close or an open touches keys that often were never set.
      for (const m of ['s', 'rc', 'rb', 'wc', 'wb', 'dn', 'ulr']) {
        for (const d of p.matchAll(new RegExp(`delete\\(@${m}\\[([^\\]]*)\\]\\)`, 'g'))) {
          expect(p.slice(Math.max(0, d.index - 40), d.index)).toContain(`if (@${m}[${d[1]}]) { `);
        }
      }
    }
  });

  it('reports failed opens only under the sensitive prefixes (8 bytes compared as one word), and reads the environment only when asked', () => {
    const plain = buildProgram({ scope: { kind: 'launcher', rootPid: 5 } });
    expect(plain).not.toContain('$fw');
    expect(plain).not.toContain('env_start');
    const p = buildProgram({ scope: { kind: 'launcher', rootPid: 5 }, attemptPrefixes: ['/etc/shadow', '/root/'], envBytes: 380 });
    // "/etc/sha" little-endian, and "/root/" masked to its 6 bytes.
    expect(p).toContain('$fw == 0x6168732f6374652f');
    expect(p).toContain('($fw & 0xffffffffffff) == 0x2f746f6f722f');
    expect(p.match(/printf\("x\\t/g)).toHaveLength(2);
    for (const probe of ['mkdirat', 'rmdir', 'linkat', 'symlinkat', 'setns', 'unshare', 'socket', 'userfaultfd', 'memfd_create', 'pidfd_open', 'pidfd_send_signal']) {
      expect(p).toContain(`sys_enter_${probe}`);
    }
  });

  it.each([['/etc/"shadow'], ['relative/path'], ['/etc\\x']])('refuses the hostile attempt prefix %j', (prefix) => {
    expect(() => buildProgram({ scope: { kind: 'launcher', rootPid: 5 }, attemptPrefixes: [prefix] })).toThrow(/bad attempt prefix/);
  });

  it.each([['x" || 1 == 1 || comm == "y'], ['a b'], [''], ['$(reboot)']])('refuses the hostile watch name %j', (name) => {
    expect(() => buildProgram({ scope: { kind: 'watch', comms: [name], seedPids: [] } })).toThrow(/bad watch name/);
  });

  it('refuses bad pids and intervals', () => {
    expect(() => buildProgram({ scope: { kind: 'launcher', rootPid: 0 } })).toThrow(/bad root pid/);
    expect(() => buildProgram({ scope: { kind: 'watch', comms: ['w'], seedPids: [1.5] } })).toThrow(/bad seed pid/);
    expect(() => buildProgram({ scope: { kind: 'launcher', rootPid: 5 }, counterFlushSec: -1 })).toThrow(/interval/);
  });

  it('probes the CUDA entry points a library defines, entry and return', () => {
    const p = buildProgram({ scope: { kind: 'launcher', rootPid: 5 }, gpu: [{ path: '/opt/cuda/libcudart.so.12', symbols: ['cudaMalloc', 'cudaMemcpy'] }] });
    expect(p).toContain('uprobe:/opt/cuda/libcudart.so.12:cudaMalloc /@t[pid]/');
    expect(p).toContain('uretprobe:/opt/cuda/libcudart.so.12:cudaMemcpy');
    expect(p).toContain('clear(@ga);');
    expect(p).not.toContain('clear(@gl);'); // no launch probe, no launch map
  });

  it.each([['/x/lib"cuda.so'], ['relative/libcudart.so'], ['/x/a:b.so']])('refuses the GPU library path %j', (path) => {
    expect(() => buildProgram({ scope: { kind: 'launcher', rootPid: 5 }, gpu: [{ path, symbols: ['cudaMalloc'] }] })).toThrow(/not usable/);
  });

  it('refuses unknown entry points', () => {
    expect(() => buildProgram({ scope: { kind: 'launcher', rootPid: 5 }, gpu: [{ path: '/l.so', symbols: ['system'] }] })).toThrow(/unknown GPU entry point/);
  });
});
