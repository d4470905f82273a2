"""Cameras (issue 15): the selective forwarding unit beside the mixer, between two headless Chromium
browsers with fake cameras on hosts of their own. A camera is published on the browsers' one BUNDLEd
transport, forwarded as it arrives (no decoding) to the other, whose page decodes its frames at its
size; the viewer's camera comes back the other way; a stopped camera's tile goes."""
from pathlib import Path

import pytest

from peers import Chromium

pytest.importorskip("selenium")
if not Path("/usr/bin/chromium").exists():
    pytest.skip("chromium is not installed", allow_module_level=True)

from test_web_client import join  # noqa: E402

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"

# Frames decoded by the first tile of somebody else's camera, and its size.
REMOTE = "document.querySelector('#video-grid .tile:not(.self) video')"
DECODED = f"(() => {{ const v = {REMOTE}; return v && v.videoWidth > 0 ? v.getVideoPlaybackQuality().totalVideoFrames : 0; }})()"
SIZE = f"(() => {{ const v = {REMOTE}; return v ? [v.videoWidth, v.videoHeight] : null; }})()"


def start_camera(page: Chromium, quality: str | None = None, shot: str | None = None):
    """The camera button opens the preview (the camera, the quality, oneself); "Start camera" shares it."""
    page.call("click", css="#camera")
    page.wait_for("document.getElementById('camera-dialog').open && document.getElementById('camera-preview').videoWidth > 0",
                  10, "the camera's preview")
    if quality:
        page.js(f"const q = document.getElementById('camera-quality'); q.value = '{quality}';"
                " q.dispatchEvent(new Event('change'));")
        page.wait_for("document.getElementById('camera-preview').videoWidth > 0", 10, "the preview at the new quality")
    if shot:
        SCREENSHOTS.mkdir(exist_ok=True)
        page.call("screenshot", path=str(SCREENSHOTS / shot))
    page.call("click", css="#camera-start")
    page.wait_for("document.getElementById('camera').getAttribute('aria-pressed') === 'true'", 10, "the camera on")


def test_two_browsers_see_each_others_cameras(server):
    ada, bob = Chromium(server), Chromium(server, width=360, height=740)
    try:
        join(ada, server, "Ada")
        join(bob, server, "Bob", "room=3001&lang=de")  # Bob: a phone-sized page in German
        bob.call("size", width=360, height=740)
        assert bob.js("return document.getElementById('camera-label').innerText") == "Kamera an"
        for page in (ada, bob):
            page.wait_for("document.querySelectorAll('#participants li').length === 2", 10, "both in the list")
        assert ada.js("return document.getElementById('video-grid').hidden"), "cameras start off"
        start_camera(ada, shot="client-camera-preview-en-desktop.png")
        ada.wait_for("document.querySelector('#video-grid .tile.self video')?.videoWidth > 0", 10, "Ada's own preview")
        assert ada.js("return document.getElementById('camera').getAttribute('aria-pressed')") == "true"
        bob.wait_for(f"{DECODED} > 30", 20, "Ada's camera decoded on Bob's page")
        width, height = bob.js(f"return {SIZE}")
        assert width >= 320 and abs(width / height - 16 / 9) < 0.02, (width, height)
        assert bob.js(f"return {REMOTE}.closest('figure').querySelector('figcaption').innerText") == "Ada"
        # Bob's camera goes the other way, on the same transport, at the low profile (320×180, 100 kbit/s).
        start_camera(bob, quality="low", shot="client-camera-preview-de-phone.png")
        ada.wait_for(f"{DECODED} > 30", 20, "Bob's camera decoded on Ada's page")
        width, height = ada.js(f"return {SIZE}")
        assert width <= 320 and abs(width / height - 16 / 9) < 0.02, ("the low profile", width, height)
        assert bob.js("return document.getElementById('camera').getAttribute('aria-label') || "
                      "document.getElementById('camera-label').textContent") == "Kamera aus"
        bob.wait_for("document.querySelectorAll('#video-grid .tile').length === 2", 5, "Bob sees himself and Ada")
        SCREENSHOTS.mkdir(exist_ok=True)
        ada.call("screenshot", path=str(SCREENSHOTS / "client-cameras-en-desktop.png"))
        bob.call("screenshot", path=str(SCREENSHOTS / "client-cameras-de-phone.png"))
        # Ada stops hers: Bob's tile of it goes, his own stays; her capture ended.
        ada.call("click", css="#camera")
        bob.wait_for(f"!{REMOTE}", 10, "Ada's tile gone")
        assert bob.js("return document.querySelectorAll('#video-grid .tile.self').length") == 1
        assert ada.js("return document.getElementById('camera').getAttribute('aria-pressed')") == "false"
        # And she can start it again, into the slot Bob's page freed.
        start_camera(ada)
        bob.wait_for(f"{DECODED} > 30", 20, "Ada's camera again")
    finally:
        ada.close()
        bob.close()


# Instrumentation for a subscriber behind a relay: its peer connections are kept for getStats, and
# every answer's server candidate is rewritten to the relay (as test_webrtc's aiortc browser does).
RELAYED = """
(() => {
  const Native = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = function (...args) { const pc = new Native(...args); window.__pcs.push(pc); return pc; };
  window.RTCPeerConnection.prototype = Native.prototype;
  const setRemote = Native.prototype.setRemoteDescription;
  Native.prototype.setRemoteDescription = function (description) {
    if (description && description.sdp) {
      description = { type: description.type, sdp: description.sdp.split("%(server)s 40000 typ host").join("%(server)s %(port)d typ host") };
    }
    return setRemote.call(this, description);
  };
})();
"""

VIDEO_STATS = """
return (async () => {
  const pc = window.__pcs[window.__pcs.length - 1];
  let frames = 0, nacks = 0, lost = 0, freezes = 0;
  (await pc.getStats()).forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "video") {
      frames += s.framesDecoded || 0; nacks += s.nackCount || 0; lost += s.packetsLost || 0; freezes += s.freezeCount || 0;
    }
  });
  return [frames, nacks, lost, freezes];
})();
"""


def test_a_subscriber_on_a_lossy_path_keeps_decoding_with_nacks(server):
    """5 % of the media between the server and a subscriber lost (a user-space relay, both ways): the
    subscriber's NACKs are answered from the publisher's packet cache, and its video keeps decoding
    without a freeze over 2 s."""
    import asyncio
    import re
    import threading
    import time

    from peers import SERVER_IP
    from test_webrtc import LossyRelay

    relay = LossyRelay((SERVER_IP, 40000), loss=0.05, jitter=0.0, seed=3)
    loop = asyncio.new_event_loop()
    transport, _ = loop.run_until_complete(loop.create_datagram_endpoint(lambda: relay, local_addr=(SERVER_IP, 0)))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    ada, bob = Chromium(server), Chromium(server)
    try:
        port = transport.get_extra_info("sockname")[1]
        bob.call("preload", script=RELAYED % {"server": SERVER_IP, "port": port})
        join(ada, server, "Ada")
        join(bob, server, "Bob")
        start_camera(ada, quality="hd")  # the most packets, so the most to lose and to NACK
        bob.wait_for(f"{DECODED} > 30", 20, "Ada's camera decoded behind the lossy relay")
        samples = []
        end = time.time() + 12
        while time.time() < end:
            samples.append((time.time(), *bob.js(VIDEO_STATS)))
            time.sleep(0.25)
        frames = [s[1] for s in samples]
        stalls = [b[0] - a[0] for a, b in zip(samples, samples[1:]) if b[1] == a[1]]
        longest, run = 0.0, 0.0
        for a, b in zip(samples, samples[1:]):
            run = run + (b[0] - a[0]) if b[1] == a[1] else 0.0
            longest = max(longest, run)
        first, last = samples[0], samples[-1]
        remote_sdp = bob.js("return window.__pcs[window.__pcs.length - 1].remoteDescription.sdp")
        bob.call("click", css="#leave")
        line = server.wait_for_line("browser left", 10)
        assert relay.dropped > 50 and relay.dropped > 0.03 * (relay.dropped + relay.forwarded), f"the relay dropped {relay.dropped} of {relay.dropped + relay.forwarded}"
        assert last[2] > first[2], f"Bob's browser sent NACKs: {first[2]} → {last[2]}"
        assert frames[-1] - frames[0] > 12 * 10, f"frames kept decoding: {frames[0]} → {frames[-1]}"
        assert longest < 2.0, f"a freeze of {longest:.2f} s; stalls {stalls}"
        # The video the relay lost on its way to Bob (his VP8 payload type, from the server's answer) is
        # what his NACKs ask for; the rate (and so the count) depends on how hard Chromium's encoder may
        # work on this machine, so the checks are against that count, not a fixed number.
        vp8 = int(re.search(r"a=rtpmap:(\d+) VP8/90000", remote_sdp).group(1))
        lost_video = relay.dropped_to_client.get(vp8, 0)
        nacked = int(re.search(r"video_nacked=(\d+)", line).group(1))
        retransmitted = int(re.search(r"video_retransmitted=(\d+)", line).group(1))
        print(f"lost video {lost_video}, nacked {nacked}, retransmitted {retransmitted}: {relay.dropped_to_client}")
        assert lost_video >= 5, f"the relay lost Bob's video: {relay.dropped_to_client}"
        assert nacked >= 0.6 * lost_video, f"Bob's NACKs reached the server for the video he lost ({lost_video}): {line}"
        assert retransmitted >= 0.8 * nacked, line
    finally:
        ada.close()
        bob.close()
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        transport.close()


def test_a_late_joiner_gets_every_camera_at_once(server):
    """Ada and Bob show their cameras; Cara joins later and decodes both (the server asks each
    publisher for a key frame when a new slot starts it)."""
    import time

    ada, bob, cara = Chromium(server), Chromium(server), Chromium(server, width=360, height=740)
    try:
        join(ada, server, "Ada")
        join(bob, server, "Bob")
        start_camera(ada)
        start_camera(bob)
        ada.wait_for(f"{DECODED} > 10", 20, "Bob's camera on Ada's page")
        bob.wait_for(f"{DECODED} > 10", 20, "Ada's camera on Bob's page")
        join(cara, server, "Cara", "room=3001&lang=de")
        connected = time.time()
        both = ("(() => { const v = [...document.querySelectorAll('#video-grid .tile:not(.self) video')];"
                " return v.length === 2 && v.every((e) => e.videoWidth > 0); })()")
        cara.wait_for(both, 10, "both cameras decoded on Cara's page")
        elapsed = time.time() - connected
        names = cara.js("return [...document.querySelectorAll('#video-grid .tile figcaption')].map((c) => c.innerText).sort()")
        assert names == ["Ada", "Bob"], names
        # From connected to both pictures: the cameras message, one renegotiation, a key frame from each.
        assert elapsed < 1, f"{elapsed:.2f} s until both cameras showed (the issue asks for a key frame within a second)"
        print(f"late joiner: both cameras {elapsed:.2f} s after connecting")
    finally:
        for page in (ada, bob, cara):
            page.close()


def test_phone_callers_are_tiles_and_incoming_cameras_can_pause(server):
    """Once a camera is on, the grid has everybody: a phone caller (baresip) is a tile with a phone and
    its masked number; on a 360-px page two tiles fit and a pager turns to the rest. Bob pauses the
    others' cameras (bandwidth): the server stops sending, his page is back to the speaker view; he
    shows them again."""
    from peers import SERVER_IP, Phone

    phone = Phone(1000)
    phone.dial(f"sip:3001@{SERVER_IP}:{server.sip_port}", 60)
    ada, bob = Chromium(server), Chromium(server, width=360, height=740)
    try:
        join(ada, server, "Ada")
        join(bob, server, "Bob", "room=3001&lang=de")
        bob.call("size", width=360, height=740)
        bob.wait_for("document.querySelectorAll('#participants li').length === 3", 15, "Ada, Bob and the phone")
        start_camera(ada)
        bob.wait_for(f"{DECODED} > 10", 20, "Ada's camera on Bob's page")
        # Three tiles (Ada's camera, Bob, the phone), two a page on a phone-sized screen.
        bob.wait_for("!document.getElementById('grid-pager').hidden", 5, "a pager")
        assert bob.js("return document.getElementById('grid-page').innerText") == "1 von 2"
        assert bob.js("return document.querySelectorAll('#video-grid .tile').length") == 2
        bob.call("click", css="#grid-next")
        bob.wait_for("document.querySelector('#video-grid .tile.person[data-kind=phone]')", 5, "the phone's tile on page 2")
        label = bob.js("return document.querySelector('#video-grid .tile[data-kind=phone]').getAttribute('aria-label')")
        assert "•••" in label and "Telefon" in label, label
        bob.call("screenshot", path=str(SCREENSHOTS / "client-grid-phone-de-phone.png"))
        # On Ada's wide page all three fit on one page.
        ada.wait_for("document.querySelectorAll('#video-grid .tile').length === 3", 5, "three tiles for Ada")
        assert ada.js("return document.getElementById('grid-pager').hidden")
        ada.call("screenshot", path=str(SCREENSHOTS / "client-grid-phone-en-desktop.png"))

        bob.call("click", css="#grid-previous")
        bob.call("click", css="#incoming-video")
        # No picture left on Bob's page: the speaker view again, with the way back.
        bob.wait_for(f"!{REMOTE} && !document.getElementById('speaker-card').hidden", 10, "Ada's camera paused")
        assert not bob.js("return document.getElementById('incoming-video').hidden")
        assert bob.js("return document.getElementById('incoming-video').getAttribute('aria-pressed')") == "true"
        bob.call("click", css="#incoming-video")
        bob.wait_for(f"{DECODED} > 5", 20, "Ada's camera shown again")
    finally:
        ada.close()
        bob.close()
        phone.stop()
