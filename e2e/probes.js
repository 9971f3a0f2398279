// What a page decodes and how it is connected, read through the page: per tile video stats, frames
// advancing, the longest gap between frames or audio packets across a media mode switch, the
// selected ICE pair, and the RTP stats of a tile's receiver and of the page's own simulcast layers.

import { sleep, waitUntil } from './wait.js';

/** Per remote tile (participant or screen) in the page: id, frames decoded, playback time, size. */
export function remoteVideoStats(page, selector = '[data-participant]:not([data-local]), [data-screen]') {
  return page.evaluate((sel) => {
    return [...document.querySelectorAll(sel)].map((tile) => {
      const video = tile.querySelector('video');
      const id = tile.getAttribute('data-participant') || `screen:${tile.getAttribute('data-screen')}`;
      if (!video) return { id, video: false, width: 0, frames: 0, time: 0 };
      const quality = video.getVideoPlaybackQuality ? video.getVideoPlaybackQuality() : null;
      return {
        id,
        video: true,
        width: video.videoWidth,
        height: video.videoHeight,
        frames: quality ? quality.totalVideoFrames : 0,
        time: video.currentTime,
        paused: video.paused,
        audio: tile.getAttribute('data-audio'),
        videoState: tile.getAttribute('data-video'),
      };
    });
  }, selector);
}

/**
 * The inbound-rtp stats (`framesDecoded`, `frameWidth`, `frameHeight`, ...) of the receiver whose
 * track `id`'s camera tile shows, or null while it has none; read from the receiver, so they count
 * for a hidden tile too, and say which simulcast layer the SFU forwards (its frame size).
 */
export function tileInboundVideo(page, id) {
  return page.evaluate(async (tileId) => {
    const video = document.querySelector(`[data-participant="${tileId}"] video`);
    const track = video && video.srcObject && video.srcObject.getVideoTracks()[0];
    if (!track) return null;
    for (const pc of window.__e2e.peerConnections) {
      if (pc.connectionState === 'closed') continue;
      const receiver = pc.getReceivers().find((r) => r.track === track);
      if (!receiver) continue;
      let inbound = null;
      (await receiver.getStats()).forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') inbound = s;
      });
      return inbound;
    }
    return null;
  }, id);
}

/**
 * The page's camera simulcast layers as it sends them: per outbound-rtp video stream with a rid,
 * its rid, frame size, frames encoded, bytes sent and frame rate, whether it is active and what
 * limits it.
 */
export function outboundLayers(page) {
  return page.evaluate(async () => {
    const layers = [];
    for (const pc of window.__e2e.peerConnections) {
      if (pc.connectionState === 'closed') continue;
      (await pc.getStats()).forEach((s) => {
        if (s.type === 'outbound-rtp' && s.kind === 'video' && s.rid) {
          layers.push({
            rid: s.rid,
            width: s.frameWidth ?? 0,
            height: s.frameHeight ?? 0,
            framesEncoded: s.framesEncoded ?? 0,
            bytesSent: s.bytesSent ?? 0,
            fps: s.framesPerSecond ?? 0,
            active: s.active,
            limitation: s.qualityLimitationReason,
          });
        }
      });
    }
    return layers;
  });
}

/** Which tiles advanced (frames decoded and playback time) over `windowMs`. */
export async function framesAdvancing(page, { selector, windowMs = 1_500 } = {}) {
  const before = await remoteVideoStats(page, selector);
  await sleep(windowMs);
  const after = await remoteVideoStats(page, selector);
  return after.map((a) => {
    const b = before.find((x) => x.id === a.id);
    return {
      ...a,
      newFrames: b ? a.frames - b.frames : 0,
      advancing: Boolean(b && a.width > 0 && a.frames > b.frames && a.time > b.time),
    };
  });
}

/**
 * Waits until the page shows exactly `n` remote participant tiles and every one of them decodes
 * video (videoWidth > 0) whose frames and playback time advance.
 */
export async function waitForRemoteVideos(page, n, { timeout = 60_000 } = {}) {
  const selector = '[data-participant]:not([data-local])';
  let last = [];
  try {
    return await waitUntil(
      `${n} remote videos decoding and advancing`,
      async () => {
        last = await framesAdvancing(page, { selector, windowMs: 1_000 });
        return last.length === n && last.every((s) => s.advancing) ? last : false;
      },
      { timeout, interval: 250 },
    );
  } catch (err) {
    err.message += `; last seen: ${JSON.stringify(last)}`;
    throw err;
  }
}

/**
 * Starts measuring, every 100 ms, how long each remote tile of the page goes without progress
 * (screens as `screen:<id>`); a tile counts from its first progress. `video`: a new decoded frame
 * (camera and screen tiles). `audio`: a new RTP packet for the audio track the tile plays (camera
 * tiles; with Opus DTX a silent microphone still sends a packet every 400 ms). Survives the tile's
 * srcObject being swapped (a media mode switch), whose counters may start again from 0.
 * @param {'video' | 'audio'} kind
 */
export function sampleGaps(page, kind) {
  return page.evaluate((kind) => {
    const count = {
      video: async (video) => video.getVideoPlaybackQuality().totalVideoFrames,
      audio: async (video) => {
        const track = video.srcObject && video.srcObject.getAudioTracks()[0];
        for (const pc of track ? window.__e2e.peerConnections : []) {
          const receiver = pc.getReceivers().find((r) => r.track === track);
          if (!receiver) continue;
          let packets = 0;
          (await receiver.getStats()).forEach((s) => {
            if (s.type === 'inbound-rtp' && s.kind === 'audio') packets = s.packetsReceived;
          });
          return packets;
        }
        return 0;
      },
    }[kind];
    const tiles = new Map();
    window.__e2e.gaps = { ...window.__e2e.gaps, [kind]: tiles };
    let sampling = false;
    setInterval(async () => {
      if (sampling) return;
      sampling = true;
      const now = performance.now();
      for (const tile of document.querySelectorAll('[data-participant]:not([data-local]), [data-screen]')) {
        const video = tile.querySelector('video');
        if (!video) continue;
        const progress = await count(video);
        const id = tile.getAttribute('data-participant') || `screen:${tile.getAttribute('data-screen')}`;
        const seen = tiles.get(id);
        if (!seen) {
          if (progress > 0) tiles.set(id, { progress, last: now, maxGap: 0 });
          continue;
        }
        if (progress !== seen.progress && progress > 0) {
          seen.maxGap = Math.max(seen.maxGap, now - seen.last);
          seen.last = now;
        }
        seen.progress = progress;
      }
      sampling = false;
    }, 100);
  }, kind);
}

/**
 * Per remote tile still shown, sampled by `sampleGaps`: the longest time without progress so far, ms.
 * @param {'video' | 'audio'} kind
 */
export function gaps(page, kind) {
  return page.evaluate((kind) => {
    const now = performance.now();
    const shown = new Set([...document.querySelectorAll('[data-participant], [data-screen]')]
      .map((tile) => tile.getAttribute('data-participant') || `screen:${tile.getAttribute('data-screen')}`));
    return [...window.__e2e.gaps[kind]]
      .filter(([id]) => shown.has(id))
      .map(([id, seen]) => ({ id, maxGapMs: Math.round(Math.max(seen.maxGap, now - seen.last)) }));
  }, kind);
}

/** Candidate types (host, srflx, relay) of the nominated pair of every connected peer connection. */
export function selectedCandidateTypes(page) {
  return page.evaluate(async () => {
    const result = [];
    for (const pc of window.__e2e.peerConnections) {
      if (pc.connectionState !== 'connected') continue;
      const stats = await pc.getStats();
      let pair = null;
      stats.forEach((s) => {
        if (s.type === 'transport' && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId);
      });
      if (!pair) stats.forEach((s) => {
        if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pair = s;
      });
      if (!pair) continue;
      const local = stats.get(pair.localCandidateId);
      const remote = stats.get(pair.remoteCandidateId);
      result.push({ local: local && local.candidateType, remote: remote && remote.candidateType });
    }
    return result;
  });
}
