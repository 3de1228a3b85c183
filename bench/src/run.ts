import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultBpftrace } from '@faasprov/agent';
import { benchmarks } from './benchmarks/index.js';

/** What the figures were measured on: they are only comparable within one run on one machine. */
function machine(): Record<string, string | number> {
  let bpftrace = 'not found';
  try {
    bpftrace = execFileSync(defaultBpftrace(), ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    // not installed: the capture benchmarks say they were skipped
  }
  return { cpus: cpus().length, cpu: cpus()[0]?.model ?? '?', memoryGiB: Math.round(totalmem() / 2 ** 30), kernel: release(), node: process.version, bpftrace };
}

type Figures = Record<string, number | string>;

const show = (v: number | string): string =>
  typeof v === 'number' ? (Number.isInteger(v) ? v.toLocaleString('en') : v.toLocaleString('en', { maximumSignificantDigits: 4 })) : v;

/** The run as a Markdown table: one row per figure. */
function table(r: { date: string; command: string; machine: Figures; results: ({ name: string } & Figures)[] }): string {
  const m = r.machine;
  const rows = r.results.flatMap(({ name, ...figures }) => Object.entries(figures).map(([k, v]) => `| ${name} | ${k} | ${show(v)} |`));
  return [
    `Measured ${r.date.slice(0, 10)} by \`${r.command}\` on ${m.cpus} × ${m.cpu}, ${m.memoryGiB} GiB, Linux ${m.kernel}, Node ${m.node}, ${m.bpftrace}.`,
    '',
    '| benchmark | figure | value |',
    '| --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}

/** BENCHMARKS.md and the bounds of its generated section, or undefined when either is missing. */
function generatedSection(): { file: string; text: string; i: number; j: number; start: string } | undefined {
  const file = join(dirname(fileURLToPath(import.meta.url)), '../../BENCHMARKS.md');
  const [start, end] = ['<!-- bench:latest:start -->', '<!-- bench:latest:end -->'];
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  return i < 0 || j < i ? undefined : { file, text, i, j, start };
}

/** A full run replaces the generated section of BENCHMARKS.md (between its two markers). */
function updateBenchmarksMd(md: string): void {
  const section = generatedSection();
  if (!section) return;
  const { file, text, i, j, start } = section;
  writeFileSync(file, `${text.slice(0, i + start.length)}\n${md}${text.slice(j)}`);
  process.stderr.write(`bench: table written to ${file}\n`);
}

/**
 * A partial run (npm run bench -- NAME) puts its benchmarks' rows into the generated table in
 * place of the full run's (appended when new), with a line under the table saying when and how
 * they were measured: the rest of the table stays the full run's.
 */
function mergeIntoBenchmarksMd(r: { date: string; command: string; machine: Figures; results: ({ name: string } & Figures)[] }): void {
  const section = generatedSection();
  if (!section) return;
  const { file, text, i, j, start } = section;
  const names = new Set(r.results.map((x) => x.name));
  const ownRow = (l: string) => [...names].some((n) => l.startsWith(`| ${n} |`));
  const ownNote = (l: string) => [...names].some((n) => l.startsWith(`Rows of \`${n}\`:`));
  const lines = text.slice(i + start.length, j).split('\n').filter((l) => !ownRow(l) && !ownNote(l));
  let last = -1;
  lines.forEach((l, k) => { if (l.startsWith('|')) last = k; });
  const rows = r.results.flatMap(({ name, ...figures }) => Object.entries(figures).map(([k, v]) => `| ${name} | ${k} | ${show(v)} |`));
  const m = r.machine;
  const notes = [...names].map((n) => `Rows of \`${n}\`: measured ${r.date.slice(0, 10)} by \`${r.command}\` on ${m.cpus} × ${m.cpu}, Linux ${m.kernel}, ${m.bpftrace}.`);
  lines.splice(last + 1, 0, ...rows);
  // Notes go after the table's blank line, before the section ends.
  let tail = lines.length;
  while (tail > 1 && lines[tail - 1]!.trim() === '' && lines[tail - 2]!.trim() === '') tail--;
  while (tail > 0 && lines[tail - 1]!.trim() === '' && !lines[tail - 2]?.startsWith('Rows of')) tail--;
  lines.splice(tail, 0, ...(lines[tail - 1]?.trim() === '' ? [] : ['']), ...notes);
  writeFileSync(file, `${text.slice(0, i + start.length)}${lines.join('\n')}${text.slice(j)}`);
  process.stderr.write(`bench: rows of ${[...names].join(', ')} written to ${file}\n`);
}

/**
 * npm run bench [-- NAME...]: runs the benchmarks side by side (A vs B interleaved in one run)
 * and prints ratios, which survive a shared, noisy machine better than absolute times.
 */
const OPTIONS = ['--json', '--write-table', '--help', '-h'];
const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(
    'usage: npm run bench [-- [NAME...] [--json] [--write-table]]\n' +
      '  no NAME: every benchmark, and the generated table in BENCHMARKS.md is rewritten\n' +
      '  NAME...: only those; --write-table puts their rows into the table in place of the full run\'s\n' +
      '  --json: the figures as JSON on stdout\n' +
      'figures also go to bench/results/latest.json and latest.md\n\nbenchmarks:\n' +
      benchmarks.map((b) => `  ${b.name.padEnd(20)} ${b.description}\n`).join(''),
  );
  process.exit(0);
}
const unknownOptions = args.filter((a) => a.startsWith('-') && !OPTIONS.includes(a));
if (unknownOptions.length > 0) {
  process.stderr.write(`bench: unknown option ${unknownOptions.join(', ')}; options: ${OPTIONS.join(', ')} (see --help)\n`);
  process.exit(2);
}
const wanted = args.filter((a) => !a.startsWith('-'));
const json = args.includes('--json');
const selected = wanted.length > 0 ? benchmarks.filter((b) => wanted.includes(b.name)) : benchmarks;
if (wanted.length > 0 && selected.length !== wanted.length) {
  const known = benchmarks.map((b) => b.name).join(', ');
  process.stderr.write(`bench: unknown benchmark in ${wanted.join(', ')}; known: ${known}\n`);
  process.exit(2);
}
const results = [];
for (const b of selected) {
  process.stderr.write(`bench: ${b.name}: ${b.description}\n`);
  const r = await b.run((msg) => process.stderr.write(`  ${msg}\n`));
  results.push({ name: b.name, ...r });
  if (!json) {
    process.stdout.write(`${b.name}\n`);
    for (const [k, v] of Object.entries(r)) process.stdout.write(`  ${k}: ${typeof v === 'number' ? +v.toFixed(3) : v}\n`);
  }
}
if (json) process.stdout.write(JSON.stringify(results, null, 2) + '\n');
// Every run leaves its figures beside the code (bench/results/latest.json), for BENCHMARKS.md.
const out = join(dirname(fileURLToPath(import.meta.url)), '../results');
mkdirSync(out, { recursive: true });
const record = { date: new Date().toISOString(), command: `npm run bench${wanted.length ? ` -- ${wanted.join(' ')}` : ''}`, machine: machine(), results };
writeFileSync(join(out, 'latest.json'), JSON.stringify(record, null, 2) + '\n');
process.stderr.write(`bench: results in ${join(out, 'latest.json')}\n`);
const md = table(record);
writeFileSync(join(out, 'latest.md'), md);
if (wanted.length === 0) updateBenchmarksMd(md);
else if (process.argv.includes('--write-table')) mergeIntoBenchmarksMd(record);
const unaccounted = results.filter((r) => (r as Record<string, unknown>).lossAccounted === 'NO').map((r) => r.name);
if (unaccounted.length > 0) {
  process.stderr.write(`bench: FAILED: events lost without Gaps that account for them in ${unaccounted.join(', ')}\n`);
  process.exitCode = 1;
}
