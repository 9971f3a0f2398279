"""A huddle participant built on aiortc, a WebRTC implementation independent of the browsers
and of str0m: it joins an sfu room over huddle's WebSocket signaling, publishes a synthetic
camera and microphone, subscribes to everybody else and reports what it decodes.

    python aiortc_client.py --url ws://127.0.0.1:8080/ws --room r --name ada --luma 60 \
        --expect-publishers 1

Prints one JSON object per line on stdout: `joined`, `track` (a subscribed track mapped to its
publisher by `sfu_track`), then `done` with, per publisher, the decoded video frames, their mean
luma and size, and the decoded audio frames. Exits 0 once `--expect-publishers` others each gave
`--frames` video and audio frames, 1 on timeout.
"""

import argparse
import asyncio
import json
import sys
import time

import aioice.ice
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, VideoStreamTrack
from aiortc.sdp import candidate_from_sdp
from av import VideoFrame
import websockets


def loopback_only():
    """On a host whose only interface is loopback, aioice would gather no candidate at all:
    it leaves 127.0.0.1 out on purpose. The tests run in such a namespace."""
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]


class FlatVideo(VideoStreamTrack):
    """A 320x240 camera at 30 fps whose every pixel has luma `luma`: a receiver that decodes it
    can tell whose picture it got."""

    def __init__(self, luma):
        super().__init__()
        self.luma = luma

    async def recv(self):
        pts, time_base = await self.next_timestamp()
        frame = VideoFrame(width=320, height=240, format="yuv420p")
        y, u, v = frame.planes
        y.update(bytes([self.luma]) * y.buffer_size)
        u.update(bytes([128]) * u.buffer_size)
        v.update(bytes([128]) * v.buffer_size)
        frame.pts = pts
        frame.time_base = time_base
        return frame


class Received:
    """What one publisher's tracks gave us."""

    def __init__(self):
        self.video_frames = 0
        self.luma_sum = 0.0
        self.size = None
        self.audio_frames = 0

    def report(self):
        mean = self.luma_sum / self.video_frames if self.video_frames else None
        return {
            "video_frames": self.video_frames,
            "mean_luma": mean,
            "size": self.size,
            "audio_frames": self.audio_frames,
        }


def mean_luma(frame):
    plane = frame.planes[0]
    data = bytes(plane)
    # Rows may be padded past the width: read only the picture.
    rows = [data[r * plane.line_size : r * plane.line_size + frame.width] for r in range(frame.height)]
    return sum(sum(row) for row in rows) / (frame.width * frame.height)


def emit(event, **fields):
    print(json.dumps({"event": event, **fields}), flush=True)


class Participant:
    def __init__(self, args):
        self.args = args
        self.pc = RTCPeerConnection()
        self.by_publisher = {}
        # Tracks arrive with the SFU's offer, their publisher with the `sfu_track` after it.
        self.tracks_by_mid = {}
        self.publisher_by_mid = {}
        self.tasks = []
        self.pc.on("track", self.on_track)

    def received(self, publisher):
        return self.by_publisher.setdefault(publisher, Received())

    def on_track(self, track):
        mid = next(t.mid for t in self.pc.getTransceivers() if t.receiver.track is track)
        self.tracks_by_mid[mid] = track
        self.start_reading(mid)

    def start_reading(self, mid):
        if mid in self.tracks_by_mid and mid in self.publisher_by_mid:
            track = self.tracks_by_mid.pop(mid)
            publisher = self.publisher_by_mid[mid]
            emit("track", mid=mid, publisher=publisher, kind=track.kind)
            self.tasks.append(asyncio.ensure_future(self.read(track, self.received(publisher))))

    async def read(self, track, into):
        try:
            while True:
                frame = await track.recv()
                if track.kind == "video":
                    into.video_frames += 1
                    into.luma_sum += mean_luma(frame)
                    into.size = [frame.width, frame.height]
                else:
                    into.audio_frames += 1
        except MediaStreamError:
            pass

    def satisfied(self):
        done = [
            r
            for r in self.by_publisher.values()
            if r.video_frames >= self.args.frames and r.audio_frames >= self.args.frames
        ]
        return len(done) >= self.args.expect_publishers

    async def offer(self, ws):
        self.pc.addTransceiver(AudioStreamTrack(), direction="sendonly")
        self.pc.addTransceiver(FlatVideo(self.args.luma), direction="sendonly")
        self.pc.createDataChannel("chat")
        await self.pc.setLocalDescription(await self.pc.createOffer())
        await send_description(ws, self.pc.localDescription)

    async def on_message(self, ws, message):
        kind = message["type"]
        if kind == "sfu_signal":
            await self.on_signal(ws, message["signal"])
        elif kind == "sfu_track":
            self.publisher_by_mid[message["mid"]] = message["participant"]
            self.start_reading(message["mid"])
        elif kind == "error":
            emit("error", code=message["code"], message=message["message"])

    async def on_signal(self, ws, signal):
        if signal["kind"] == "candidate":
            candidate = signal.get("candidate")
            if candidate and candidate.get("candidate"):
                parsed = candidate_from_sdp(candidate["candidate"].removeprefix("candidate:"))
                parsed.sdpMid = candidate.get("sdpMid")
                parsed.sdpMLineIndex = candidate.get("sdpMLineIndex")
                await self.pc.addIceCandidate(parsed)
            return
        description = signal["description"]
        await self.pc.setRemoteDescription(RTCSessionDescription(description["sdp"], description["type"]))
        if description["type"] == "offer":
            await self.pc.setLocalDescription(await self.pc.createAnswer())
            await send_description(ws, self.pc.localDescription)

    async def close(self):
        for task in self.tasks:
            task.cancel()
        await self.pc.close()


async def send_description(ws, description):
    signal = {"kind": "description", "description": {"type": description.type, "sdp": description.sdp}}
    await ws.send(json.dumps({"type": "sfu_signal", "signal": signal}))


async def run(args):
    participant = Participant(args)
    async with websockets.connect(args.url) as ws:
        media = {"audio": True, "video": True, "screen": False}
        await ws.send(json.dumps({"type": "join", "room": args.room, "name": args.name, "version": 1, "media": media}))
        joined = json.loads(await ws.recv())
        if joined["type"] != "joined":
            emit("refused", message=joined)
            return False
        emit("joined", you=joined["you"], mode=joined["settings"]["media_mode"])
        await participant.offer(ws)
        deadline = time.monotonic() + args.timeout
        while not participant.satisfied() and time.monotonic() < deadline:
            try:
                raw = await asyncio.wait_for(ws.recv(), timeout=0.2)
            except asyncio.TimeoutError:
                continue
            await participant.on_message(ws, json.loads(raw))
        ok = participant.satisfied()
        # Keep sending a little longer so that the others get what they wait for too.
        await asyncio.sleep(args.linger)
        emit("done", ok=ok, received={p: r.report() for p, r in participant.by_publisher.items()})
        await participant.close()
        return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="the server's WebSocket, ws://host:port/ws")
    parser.add_argument("--room", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--luma", type=int, default=128, help="the luma of every pixel we send")
    parser.add_argument("--expect-publishers", type=int, default=1)
    parser.add_argument("--frames", type=int, default=10, help="decoded frames of each kind per publisher")
    parser.add_argument("--timeout", type=float, default=30)
    parser.add_argument("--linger", type=float, default=3, help="seconds to keep sending when done")
    parser.add_argument("--loopback", action="store_true", help="gather 127.0.0.1 as a host candidate")
    args = parser.parse_args()
    if args.loopback:
        loopback_only()
    sys.exit(0 if asyncio.run(run(args)) else 1)


if __name__ == "__main__":
    main()
