#!/usr/bin/env python3
"""Writes the seed corpus of fuzz/seeds/ (run from anywhere; python3 only).

The TURN core in the fuzz harness is deterministic (fuzz/src/turn.rs: seed [7; 32],
secret "fuzz-secret", realm "huddle.fuzz", start 1700000000), so the nonce it issues
at time zero is known and these requests are correctly signed: turn_packet gets
past authentication from the first run. Change the constants together.
"""
import base64, binascii, hashlib, hmac, json, os, struct

HERE = os.path.dirname(os.path.abspath(__file__))
SEED, SECRET, REALM, START = bytes([7] * 32), b"fuzz-secret", "huddle.fuzz", 1_700_000_000
COOKIE = 0x2112A442
NONCE_LIFETIME = 600

def nonce():
    expiry = NONCE_LIFETIME
    mac = hmac.new(SEED, struct.pack(">I", expiry), hashlib.sha1).digest()[:8]
    return "%08x%s" % (expiry, mac.hex())

USER = "%d:alice" % (START + 86400)
PASSWORD = base64.b64encode(hmac.new(SECRET, USER.encode(), hashlib.sha1).digest()).decode()

def attr(kind, value):
    pad = (-len(value)) % 4
    return struct.pack(">HH", kind, len(value)) + value + b"\0" * pad

def xor_addr(ip4, port):
    ip = bytes(int(x) for x in ip4.split("."))
    xip = bytes(a ^ b for a, b in zip(ip, struct.pack(">I", COOKIE)))
    return struct.pack(">BBH", 0, 1, port ^ (COOKIE >> 16)) + xip

def message(mtype, txid, attrs, sign=False, fingerprint=True):
    body = b"".join(attrs)
    if sign:
        body += attr(0x0006, USER.encode()) + attr(0x0014, REALM.encode()) + attr(0x0015, nonce().encode())
        key = hashlib.md5(("%s:%s:%s" % (USER, REALM, PASSWORD)).encode()).digest()
        head = struct.pack(">HHI", mtype, len(body) + 24, COOKIE) + txid
        body += attr(0x0008, hmac.new(key, head + body, hashlib.sha1).digest())
    if fingerprint:
        head = struct.pack(">HHI", mtype, len(body) + 8, COOKIE) + txid
        crc = (binascii.crc32(head + body) ^ 0x5354554E) & 0xFFFFFFFF
        body += attr(0x8028, struct.pack(">I", crc))
    return struct.pack(">HHI", mtype, len(body), COOKIE) + txid + body

def txid(n):
    return struct.pack(">4xQ", n)

def channel_data(number, payload, padded):
    out = struct.pack(">HH", number, len(payload)) + payload
    return out + b"\0" * ((-len(out)) % 4 if padded else 0)

PEER = ("203.0.113.50", 4000)
UDP = attr(0x0019, bytes([17, 0, 0, 0]))
allocate = message(0x0003, txid(1), [UDP], sign=True)
permission = message(0x0008, txid(2), [attr(0x0012, xor_addr(*PEER))], sign=True)
bind = message(0x0009, txid(3), [attr(0x000C, struct.pack(">HH", 0x4000, 0)), attr(0x0012, xor_addr(*PEER))], sign=True)
refresh = message(0x0004, txid(4), [attr(0x000D, struct.pack(">I", 1200))], sign=True)
send = message(0x0016, txid(5), [attr(0x0012, xor_addr(*PEER)), attr(0x0013, b"hello peer")], fingerprint=False)

seeds = {
    "turn_packet/binding": message(0x0001, txid(9), []),
    "turn_packet/allocate_unsigned": message(0x0003, txid(1), [UDP]),
    "turn_packet/allocate_signed": allocate,
    "turn_packet/allocate_even_port": message(0x0003, txid(6), [UDP, attr(0x0018, b"\x80")], sign=True),
    "turn_packet/channel_data": channel_data(0x4000, b"hello", False),
    "turn_packet/send_indication": send,
    # As a TCP stream (or frame by frame over UDP): a whole relay session.
    "turn_packet/session_stream": allocate + permission + bind + channel_data(0x4000, b"hello", True) + send + refresh,
    "signaling_decode/join": {"type": "join", "room": "blue-fox", "name": "Ada", "version": 1, "media": {"audio": True, "video": False}},
    "signaling_decode/update": {"type": "update", "media": {"audio": False, "video": True, "screen": True}, "name": "Ada L."},
    "signaling_decode/offer": {"type": "signal", "to": "p-1", "signal": {"kind": "description", "description": {"type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\n"}}},
    "signaling_decode/candidate": {"type": "signal", "to": "p-2", "signal": {"kind": "candidate", "candidate": {"candidate": "candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host", "sdpMid": "0", "sdpMLineIndex": 0, "usernameFragment": "abcd"}}},
    "signaling_decode/end_of_candidates": {"type": "signal", "to": "p-2", "signal": {"kind": "candidate", "candidate": None}},
    "signaling_decode/ping": {"type": "ping"},
    "signaling_decode/leave": {"type": "leave"},
}
for name, content in seeds.items():
    path = os.path.join(HERE, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    data = content if isinstance(content, bytes) else json.dumps(content).encode()
    with open(path, "wb") as f:
        f.write(data)
