// Prints join -> first remote frame over every page the suite opened, per media mode (p50, p95),
// with the median time from the join's start to each step before it (where the time goes).
// The tests append one JSON line per page to e2e/out/join-times.jsonl; scripts/test clears it first.
import fs from 'node:fs';
import { JOIN_TIMES, median } from './harness.js';

const records = fs.existsSync(JOIN_TIMES)
  ? fs.readFileSync(JOIN_TIMES, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line))
  : [];
if (records.length === 0) console.log('join-to-first-frame: no measurement');

const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};

for (const mode of [...new Set(records.map((r) => r.mode || 'unknown'))].sort()) {
  const of = records.filter((r) => (r.mode || 'unknown') === mode);
  const times = of.map((r) => r.ms);
  console.log(`join-to-first-frame, ${mode} rooms: ${times.length} pages, p50 ${percentile(times, 50)} ms, `
    + `p95 ${percentile(times, 95)} ms (min ${Math.min(...times)}, max ${Math.max(...times)})`);
  const steps = new Map();
  for (const r of of) {
    for (const [step, ms] of Object.entries(r.steps || {})) steps.set(step, [...(steps.get(step) || []), ms]);
  }
  const breakdown = [...steps].map(([step, all]) => [step, median(all), all.length]).sort((a, b) => a[1] - b[1]);
  for (const [step, ms, pages] of breakdown) console.log(`  ${step}: ${ms} ms (median of ${pages} pages)`);
}
