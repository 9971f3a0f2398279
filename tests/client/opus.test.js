// The Opus options the client puts in its SFU offers (assets/js/sfu.js), without a browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SIMULCAST_LAYERS, withOpusOptions } from '../../assets/js/sfu.js';

const OFFER = [
  'v=0',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111 63',
  'a=rtpmap:111 opus/48000/2',
  'a=fmtp:111 minptime=10;useinbandfec=0;usedtx=0',
  'a=rtpmap:63 red/48000/2',
  'a=fmtp:63 111/111',
  'm=video 9 UDP/TLS/RTP/SAVPF 96',
  'a=rtpmap:96 VP8/90000',
  'a=fmtp:96 max-fs=12288',
  '',
].join('\r\n');

test('every Opus format gets in-band FEC and DTX; other formats are left alone', () => {
  const sdp = withOpusOptions(OFFER);
  assert.match(sdp, /^a=fmtp:111 minptime=10;useinbandfec=1;usedtx=1\r$/m);
  assert.match(sdp, /^a=fmtp:63 111\/111\r$/m, 'RED untouched');
  assert.match(sdp, /^a=fmtp:96 max-fs=12288\r$/m, 'VP8 untouched');
  assert.equal(sdp.split('\r\n').length, OFFER.split('\r\n').length, 'no line added or lost');
  assert.equal(withOpusOptions(sdp), sdp, 'applying it twice changes nothing');
});

test('an Opus format without options of its own gets both', () => {
  const sdp = withOpusOptions('a=rtpmap:109 OPUS/48000/2\na=fmtp:109 stereo=1\n');
  assert.equal(sdp, 'a=rtpmap:109 OPUS/48000/2\na=fmtp:109 stereo=1;useinbandfec=1;usedtx=1\n');
});

test('simulcast layers are declared lowest quality first, as the SFU expects', () => {
  const scales = SIMULCAST_LAYERS.map((layer) => layer.scaleResolutionDownBy);
  assert.deepEqual(scales, [4, 2, 1]);
});
