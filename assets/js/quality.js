// Network quality of what we receive from someone, from `getStats()`: packet loss over the last
// interval, round-trip time and jitter, graded good / fair / poor. No DOM here.

/**
 * @typedef {{ received: number, lost: number }} PacketCount totals since the stream began
 * @typedef {{ loss: number, rtt: number, jitter: number }} Quality loss 0..1, rtt and jitter in ms
 * @typedef {'good' | 'fair' | 'poor'} Grade
 */

/** Upper bounds of "good" and "fair" for each figure; past "fair" is "poor". */
const BOUNDS = {
  loss: { good: 0.02, fair: 0.08 },
  rtt: { good: 150, fair: 400 },
  jitter: { good: 30, fair: 80 },
};

/**
 * Sums what `report` says about the inbound RTP streams (of the given mids, or all) and the
 * connection's current round trip.
 * @param {RTCStatsReport} report
 * @param {Set<string> | null} mids only these transceivers, or all when null
 */
export function readStats(report, mids) {
  let received = 0;
  let lost = 0;
  let jitter = 0;
  let rtt = 0;
  report.forEach((stat) => {
    if (stat.type === 'inbound-rtp' && (!mids || mids.has(String(stat.mid)))) {
      received += stat.packetsReceived ?? 0;
      lost += Math.max(0, stat.packetsLost ?? 0);
      jitter = Math.max(jitter, (stat.jitter ?? 0) * 1000);
    } else if (stat.type === 'candidate-pair' && stat.nominated && stat.currentRoundTripTime !== undefined) {
      rtt = Math.max(rtt, stat.currentRoundTripTime * 1000);
    }
  });
  return { packets: { received, lost }, rtt, jitter };
}

/**
 * Loss between two readings of the same streams (the totals only ever grow).
 * @param {PacketCount | undefined} before
 * @param {PacketCount} now
 */
export function lossBetween(before, now) {
  const received = now.received - (before?.received ?? 0);
  const lost = now.lost - (before?.lost ?? 0);
  return received + lost > 0 ? Math.max(0, lost) / (received + lost) : 0;
}

/** @param {Quality} quality @returns {Grade} */
export function grade(quality) {
  /** @type {Grade[]} */
  const grades = (/** @type {(keyof Quality)[]} */ (['loss', 'rtt', 'jitter'])).map((figure) => {
    const value = quality[figure];
    return value <= BOUNDS[figure].good ? 'good' : value <= BOUNDS[figure].fair ? 'fair' : 'poor';
  });
  return grades.includes('poor') ? 'poor' : grades.includes('fair') ? 'fair' : 'good';
}

/** @param {Quality} quality */
export function describe(quality) {
  return `Loss ${(quality.loss * 100).toFixed(1)}% · round trip ${Math.round(quality.rtt)} ms · jitter ${Math.round(quality.jitter)} ms`;
}
