import { benchmarks } from './benchmarks/index.js';

/**
 * npm run bench [-- NAME...]: runs the benchmarks side by side (A vs B interleaved in one run)
 * and prints ratios, which survive a shared, noisy machine better than absolute times.
 */
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const json = process.argv.includes('--json');
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
