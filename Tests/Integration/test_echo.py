"""The echo test (issue 14): before joining, a person hears their own voice come back from the server a
second later, through the same ICE, DTLS-SRTP, jitter buffer, talk detection and Opus as a meeting — from
the join screen (headless Chromium, English and German), from aiortc (the delay measured), and from a
phone dialling 9196 (baresip). Nobody in any room sees or hears a test."""
import asyncio
import json
import time
from pathlib import Path

import numpy as np
import pytest

from peers import SERVER_IP, Chromium, Phone, level_dbfs, tone_share_db

aiortc = pytest.importorskip("aiortc")
websockets = pytest.importorskip("websockets")
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription  # noqa: E402

from test_webrtc import ToneTrack, browser, record_into  # noqa: E402

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"


class ToneBurst(ToneTrack):
    """A microphone that plays a sine for `seconds`, then silence; `start` is when its first sample went."""

    def __init__(self, frequency: float, seconds: float):
        super().__init__(frequency)
        self.burst = int(seconds * 48000)

    async def recv(self):
        frame = await super().recv()
        if frame.pts >= self.burst:
            frame.planes[0].update(bytes(960 * 2))
        return frame


async def echo_test(server, token: str, burst: ToneBurst, seconds: float):
    """An aiortc browser's echo test: what it heard as (arrival time, samples) pairs, and the answer."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTrack(burst)
    heard = []
    record_into(pc, heard, timed=True)

    await pc.setLocalDescription(await pc.createOffer())
    async with websockets.connect(server.ws_url, ssl=server.ssl_context()) as ws:
        await ws.send(json.dumps({"type": "echo", "token": token, "sdp": pc.localDescription.sdp}))
        answer = json.loads(await ws.recv())
        if answer["type"] != "echo-answer":
            await pc.close()
            return heard, answer
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
        # Asking the test for anything else is refused: it is no participant of any room.
        await ws.send(json.dumps({"type": "chat", "text": "hello"}))
        refusal = json.loads(await ws.recv())
        assert refusal["type"] == "error" and refusal["code"] == "not-joined", refusal
        end = time.time() + seconds
        while time.time() < end:
            await asyncio.sleep(0.2)
        await ws.send(json.dumps({"type": "leave"}))
    await pc.close()
    return heard, answer


def test_a_browser_hears_itself_a_second_later_and_nobody_else_hears_it(server):
    burst = ToneBurst(440, seconds=1.0)

    async def scenario():
        # Someone in room 3001 meanwhile: the echo test for 3001 must not show up (or sound) there.
        messages = []
        other = asyncio.ensure_future(browser(server, "3001", 1000, 6, messages))
        await asyncio.sleep(0.5)
        heard, answer = await echo_test(server, server.token("3001"), burst, 5)
        other_heard = await other
        return heard, answer, messages, other_heard

    heard, answer, messages, other_heard = asyncio.run(scenario())
    assert answer["type"] == "echo-answer" and answer["seconds"] == 120, answer
    assert heard, f"the echo test sent nothing back; {server.log_text()[-2000:]}"
    loud = [(at, data) for at, data in heard if level_dbfs(data) > -30]
    assert loud, f"no voice came back: {[round(level_dbfs(d)) for _, d in heard][:200]}"
    delay = loud[0][0] - burst.start
    print(f"echo test: the voice came back after {delay:.3f} s")
    assert 0.9 < delay < 1.6, f"the voice comes back a second later, not after {delay:.2f} s"
    echoed = np.concatenate([data for _, data in loud])
    assert tone_share_db(echoed, 48000, 440) > -6, "as the same tone"
    # One second of tone comes back as about one second, then silence again.
    assert 0.7 * 48000 < len(echoed) < 1.5 * 48000, len(echoed) / 48000
    assert level_dbfs(np.concatenate([d for at, d in heard if at > loud[-1][0] + 0.5])) < -50, "and stops"
    # The browser in the room saw nobody come and heard no 440 Hz.
    room = [m for m in messages if m.get("type") == "participant-joined"]
    assert not room, f"the echo test appeared in the room: {room}"
    assert tone_share_db(other_heard[-3 * 48000:], 48000, 440) < -30, "nor was heard there"


def test_an_echo_test_needs_a_valid_token(server):
    async def scenario():
        answers = []
        for token in ["forged.token", ""]:
            _, answer = await echo_test(server, token, ToneBurst(440, 0.1), 0)
            answers.append(answer)
        return answers

    for answer in asyncio.run(scenario()):
        assert answer["type"] == "error" and answer["code"] == "token-invalid" and answer["request"] == "echo", answer


def test_a_phone_dialling_9196_hears_itself(server):
    phone = Phone(1000)
    phone.dial(f"sip:9196@{SERVER_IP}:{server.sip_port}", 6)
    phone.wait(20)
    heard, rate = phone.heard()
    assert level_dbfs(heard[: int(0.6 * rate)]) < -50, "nothing comes back within the first second"
    assert tone_share_db(heard[2 * rate:5 * rate], rate, 1000) > -6, f"its own tone comes back; {server.log_text()[-1500:]}"


# The peak frequency and level of what the page's echo test plays, measured in the page (WebAudio).
ECHO_PEAK = """
const element = document.getElementById('echo-audio');
if (!element.srcObject) return null;
if (!window.echoAnalyser) {
  const context = new AudioContext();
  const analyser = context.createAnalyser();
  analyser.fftSize = 8192;
  context.createMediaStreamSource(element.srcObject).connect(analyser);
  window.echoAnalyser = { context, analyser };
}
const { context, analyser } = window.echoAnalyser;
const bins = new Float32Array(analyser.frequencyBinCount);
analyser.getFloatFrequencyData(bins);
let best = 0;
for (let i = 1; i < bins.length; i++) if (bins[i] > bins[best]) best = i;
return { hz: best * context.sampleRate / analyser.fftSize, db: bins[best] };
"""


@pytest.mark.parametrize("language,width", [("en", 1280), ("de", 360)])
def test_the_join_screen_runs_an_echo_test_then_joins(server, language, width):
    chromium = Chromium(server, tone_hz=700, width=width, height=800)
    try:
        chromium.call("size", width=width, height=800)
        chromium.call("open", url=f"{server.base_url}/?room=3001&lang={language}")
        chromium.wait_for("document.documentElement.dataset.client === 'ready'", 10, "the page")
        words = {"en": ("Echo test", "Stop echo test", "Speak: you hear yourself"),
                 "de": ("Echotest", "Echotest beenden", "Sprechen Sie: Sie hören sich")}[language]
        assert chromium.js("return document.getElementById('echo-test').innerText") == words[0]
        chromium.call("click", css="#echo-test")
        chromium.wait_for(f"document.getElementById('echo-message').innerText.startsWith({json.dumps(words[2])})", 15,
                          "the echo test running")
        assert chromium.js("return document.getElementById('echo-test').innerText") == words[1]
        assert chromium.js("return document.getElementById('echo-test').getAttribute('aria-pressed')") == "true"
        # The fake microphone's 700 Hz comes back from the server.
        end = time.time() + 10
        peak = None
        while time.time() < end:
            peak = chromium.js(ECHO_PEAK)
            if peak and abs(peak["hz"] - 700) < 15 and peak["db"] > -60:
                break
            time.sleep(0.25)
        assert peak and abs(peak["hz"] - 700) < 15 and peak["db"] > -60, f"the page hears itself: {peak}"
        # The join screen's meter keeps showing the microphone meanwhile.
        chromium.wait_for("Number(document.getElementById('level').getAttribute('aria-valuenow')) > 25", 5, "the meter moves")
        SCREENSHOTS.mkdir(exist_ok=True)
        size = "desktop" if width > 400 else "phone"
        chromium.call("screenshot", path=str(SCREENSHOTS / f"client-echo-{language}-{size}.png"))
        assert chromium.js("return document.documentElement.scrollWidth") <= width, "nothing wider than the screen"
        chromium.call("click", css="#echo-test")
        chromium.wait_for("document.getElementById('echo-message').hidden", 5, "the test stopped")
        assert chromium.js("return document.getElementById('echo-test').innerText") == words[0]
        # Then the person joins, and the room has them once (the test was never in it).
        chromium.call("type", css="#name", text="Ada")
        chromium.call("click", css="#join-mic")
        chromium.wait_for("document.getElementById('status').dataset.state === 'statusConnected'", 15, "connected")
        names = chromium.wait_for("Array.from(document.querySelectorAll('#participants li')).length > 0 && "
                                  "Array.from(document.querySelectorAll('#participants li')).map(li => li.innerText)", 5,
                                  "the list")
        assert len(names) == 1 and "Ada" in names[0], names
        assert chromium.js("return document.getElementById('echo-audio').srcObject") is None
    finally:
        chromium.close()
    assert "echo test over" not in server.log_text()
