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
        ada.call("click", css="#camera")
        ada.wait_for("document.querySelector('#video-grid .tile.self video')?.videoWidth > 0", 10, "Ada's own preview")
        assert ada.js("return document.getElementById('camera').getAttribute('aria-pressed')") == "true"
        bob.wait_for(f"{DECODED} > 30", 20, "Ada's camera decoded on Bob's page")
        width, height = bob.js(f"return {SIZE}")
        assert width >= 320 and abs(width / height - 16 / 9) < 0.02, (width, height)
        assert bob.js(f"return {REMOTE}.closest('figure').querySelector('figcaption').innerText") == "Ada"
        # Bob's camera goes the other way, on the same transport.
        bob.call("click", css="#camera")
        ada.wait_for(f"{DECODED} > 30", 20, "Bob's camera decoded on Ada's page")
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
        ada.call("click", css="#camera")
        bob.wait_for(f"{DECODED} > 30", 20, "Ada's camera again")
    finally:
        ada.close()
        bob.close()
