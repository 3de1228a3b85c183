import { describe, expect, it } from '@jest/globals';
import { parseDockerfile } from './dockerfile.js';

describe('parseDockerfile', () => {
  it('takes the ENV and WORKDIR of the last stage, in both ENV forms, with continuations and quotes', () => {
    const r = parseDockerfile(
      [
        'FROM ghcr.io/openfaas/of-watchdog:0.11.6 AS watchdog',
        'ENV fprocess="not this stage"',
        'FROM python:3.12-slim AS ship',
        '# ENV commented="out"',
        'WORKDIR /home/app/',
        'ENV fprocess="python index.py"',
        'ENV mode="http" \\',
        '    upstream_url="http://127.0.0.1:5000"',
        'ENV exec_timeout 10s',
        "ENV greeting='a b' escaped=a\\ b",
        'ENV PATH=$PATH:/home/app/.local/bin',
        'WORKDIR function',
      ].join('\n'),
      { PATH: '/usr/bin' },
    );
    expect(r.env).toEqual({
      fprocess: 'python index.py',
      mode: 'http',
      upstream_url: 'http://127.0.0.1:5000',
      exec_timeout: '10s',
      greeting: 'a b',
      escaped: 'a b',
      PATH: '/usr/bin:/home/app/.local/bin',
    });
    expect(r.workdir).toBe('/home/app/function');
  });

  it('carries ENV and WORKDIR into a stage built FROM an earlier one', () => {
    const r = parseDockerfile(
      ['FROM python:3.12-alpine AS build', 'ENV PATH=$PATH:/home/app/.local/bin', 'WORKDIR /home/app/', 'FROM other AS unrelated', 'ENV x=1',
        'FROM --platform=linux/amd64 build AS ship', 'ENV fprocess="python index.py"'].join('\n'),
      { PATH: '/bin' },
    );
    expect(r.env).toEqual({ PATH: '/bin:/home/app/.local/bin', fprocess: 'python index.py' });
    expect(r.workdir).toBe('/home/app/');
  });

  it('rejects an ENV word that is not KEY=VALUE and an unterminated quote', () => {
    expect(() => parseDockerfile('FROM x\nENV a=1 b')).toThrow(/not KEY=VALUE/);
    expect(() => parseDockerfile('FROM x\nENV a="1')).toThrow(/unterminated/);
  });
});
