"""Browsers over WebRTC (issue 4) with aiortc, a complete WebRTC stack from PyPI: ICE against our
ICE-lite port, DTLS-SRTP with fingerprints, Opus; in the same room as a baresip phone."""
import asyncio
import fractions
import json
import time

import numpy as np
import pytest

from peers import SERVER_IP, Phone, Server, tone_share_db

aiortc = pytest.importorskip("aiortc")
websockets = pytest.importorskip("websockets")
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription  # noqa: E402
from av import AudioFrame  # noqa: E402


class ToneTrack(MediaStreamTrack):
    """A microphone playing a sine, paced in real time."""

    kind = "audio"

    def __init__(self, frequency: float):
        super().__init__()
        self.frequency = frequency
        self.pts = 0
        self.start = None

    async def recv(self):
        if self.start is None:
            self.start = time.time()
        delay = self.start + self.pts / 48000 - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        t = (np.arange(960) + self.pts) / 48000
        samples = (np.sin(2 * np.pi * self.frequency * t) * 8000).astype(np.int16)
        frame = AudioFrame(format="s16", layout="mono", samples=960)
        frame.planes[0].update(samples.tobytes())
        frame.sample_rate = 48000
        frame.pts = self.pts
        frame.time_base = fractions.Fraction(1, 48000)
        self.pts += 960
        return frame


async def browser(server: Server, room: str, frequency: float, seconds: float, messages: list):
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTrack(ToneTrack(frequency))
    heard = []

    @pc.on("track")
    def on_track(track):
        async def pull():
            try:
                while True:
                    frame = await track.recv()
                    data = frame.to_ndarray().astype(np.float64).reshape(-1, len(frame.layout.channels)).mean(axis=1)
                    heard.append(data)
            except Exception:
                pass

        asyncio.ensure_future(pull())

    await pc.setLocalDescription(await pc.createOffer())
    async with websockets.connect(f"ws://{SERVER_IP}:{server.http_port}/ws") as ws:
        await ws.send(json.dumps({"type": "join", "room": room, "name": "aiortc", "sdp": pc.localDescription.sdp}))
        answer = json.loads(await ws.recv())
        assert answer["type"] == "answer", answer
        messages.append(answer)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
        end = time.time() + seconds
        while time.time() < end:
            try:
                messages.append(json.loads(await asyncio.wait_for(ws.recv(), timeout=0.5)))
            except asyncio.TimeoutError:
                pass
    await pc.close()
    return np.concatenate(heard) if heard else np.zeros(0)


@pytest.fixture
def server():
    s = Server()
    yield s
    assert s.alive()
    s.stop()


def test_browser_and_phone_hear_each_other(server):
    phone = Phone(1000)
    phone.dial(f"sip:3001@{SERVER_IP}:{server.sip_port}", 12)
    time.sleep(1)
    messages = []
    heard = asyncio.run(browser(server, "3001", 440, 8, messages))
    phone.wait(20)
    assert len(heard) > 4 * 48000, f"the browser received audio: {len(heard)} samples; {server.log_text()[-2000:]}"
    tail = heard[-3 * 48000:]
    assert tone_share_db(tail, 48000, 1000) > -6, "the browser hears the phone"
    assert tone_share_db(tail, 48000, 440) < -30, "and not itself"
    phone_heard, rate = phone.heard()
    assert tone_share_db(phone_heard[-4 * rate:-1 * rate], rate, 440) > -6, "the phone hears the browser"
    assert any(m.get("type") == "answer" and any(p["name"] for p in m["participants"]) for m in messages)


def test_bad_signalling_gets_errors_and_the_server_stays_up(server):
    async def go():
        async with websockets.connect(f"ws://{SERVER_IP}:{server.http_port}/ws") as ws:
            replies = []
            for message in ["not json", json.dumps({"type": "fly"}), json.dumps({"type": "join", "room": "3001"}),
                            json.dumps({"type": "join", "room": "9999", "sdp": "v=0"}),
                            json.dumps({"type": "join", "room": "3001", "sdp": "garbage"}),
                            "[" * 5000 + "]" * 5000]:
                await ws.send(message)
                replies.append(json.loads(await ws.recv()))
            return replies

    replies = asyncio.run(go())
    assert all(r["type"] == "error" for r in replies), replies
    assert server.alive()
