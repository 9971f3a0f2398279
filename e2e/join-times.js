// Prints the median of join -> first remote frame over every page the suite opened.
// The tests append one JSON line per page to e2e/out/join-times.jsonl; scripts/test clears it first.
import fs from 'node:fs';
import { JOIN_TIMES, median } from './harness.js';

const times = fs.existsSync(JOIN_TIMES)
  ? fs.readFileSync(JOIN_TIMES, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line).ms)
  : [];
if (times.length === 0) {
  console.log('join-to-first-frame median: no measurement');
} else {
  console.log(`join-to-first-frame: ${times.length} pages, min ${Math.min(...times)} ms, max ${Math.max(...times)} ms`);
  console.log(`join-to-first-frame median: ${median(times)} ms`);
}
