"""The web client's shape (issue 14), in headless Chromium at 1280×800 and 360×740, in English and
German: the join screen, the room alone, the room with a phone caller and another browser, the
moderator's lock settings and breakout dialog, and the waiting screen — each screenshotted into
Tests/Integration/screenshots/ for people to look at, and each checked: the language the join link
asked for, the stage showing who speaks, every control of the bottom bar on screen, every control
with an accessible name, focus visible."""
import asyncio
import urllib.parse

import pytest

from peers import SERVER_IP, Chromium, Phone
from test_meetings import Browser
from test_web_client import SCREENSHOTS, api, open_page

SIZES = {"desktop": (1280, 800), "phone": (360, 740)}

# Every visible control must have a name a screen reader can say (its text, aria-label, title or label).
UNNAMED = """return Array.from(document.querySelectorAll('button, select, input, a[href], [role=tab]')).filter(e => {
  if (e.closest('[hidden]') || e.getClientRects().length === 0) return false;
  const label = e.labels && e.labels.length ? e.labels[0].textContent : '';
  return !(e.getAttribute('aria-label') || e.innerText || e.title || label || '').trim();
}).map(e => e.id || e.outerHTML.slice(0, 80))"""

# The bottom bar's controls that are shown but not wholly inside the viewport.
OFF_SCREEN = """return Array.from(document.querySelectorAll('.controls button')).filter(b => {
  if (b.closest('[hidden]') || b.getClientRects().length === 0 || b.closest('#more-menu')) return false;
  const r = b.getBoundingClientRect();
  return r.left < 0 || r.top < 0 || r.right > innerWidth || r.bottom > innerHeight;
}).map(b => b.id)"""


def join_url(server, query: str) -> str:
    url = api(server, "join", query + "&redirect=false").split("<url>")[1].split("</url>")[0].replace("&amp;", "&")
    return server.base_url + "/?" + url.split("?", 1)[1]


def token_of(url: str) -> str:
    return urllib.parse.parse_qs(urllib.parse.urlparse(url).query)["token"][0]


def shot(chromium: Chromium, name: str, language: str, size: str):
    SCREENSHOTS.mkdir(exist_ok=True)
    chromium.call("screenshot", path=str(SCREENSHOTS / f"client-{name}-{language}-{size}.png"))


def check_names_and_focus(chromium: Chromium, where: str):
    assert chromium.js(UNNAMED) == [], f"controls without an accessible name on {where}"
    chromium.call("key", css="body", key="\ue004")  # Tab: the focused control shows it
    outline = chromium.js("const e = document.activeElement; return e && e !== document.body ? getComputedStyle(e).outlineStyle : 'none'")
    assert outline not in ("none", ""), f"focus visible on {where}"


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("size", list(SIZES))
def test_the_client_looks_and_works_like_a_conferencing_app(server, size, language):
    width, height = SIZES[size]
    api(server, "create", "name=Team+meeting&meetingID=team&voiceBridge=77000")
    api(server, "create", "name=Office+hours&meetingID=office&voiceBridge=77100&guestPolicy=ASK_MODERATOR")
    moderator = join_url(server, f"fullName=Teacher&meetingID=team&role=MODERATOR&userdata-bbb_override_default_locale={language}")
    chromium = Chromium(server, width=width, height=height)
    try:
        chromium.call("size", width=width, height=height)
        open_page(chromium, moderator)
        assert chromium.js("return document.documentElement.lang") == language, "the join link's language"
        assert chromium.js("return document.getElementById('joining-as').innerText").endswith(
            "Teacher." if language == "en" else "Teacher teil.")
        shot(chromium, "join", language, size)
        check_names_and_focus(chromium, "the join screen")

        chromium.call("click", css="#join-mic")
        chromium.wait_for("document.getElementById('status').dataset.state === 'statusConnected'", 15, "connected")
        alone = "You are the only one here" if language == "en" else "Sie sind allein hier"
        chromium.wait_for(f"document.getElementById('speaker-name').innerText === {alone!r}", 5, "alone on the stage")
        assert "Team meeting" in chromium.js("return document.getElementById('room-title').innerText")
        assert chromium.js("return document.getElementById('room-number').innerText") == "77000"
        assert not chromium.js("return document.getElementById('recording').hidden"), "'not recorded' is shown"
        assert chromium.js(OFF_SCREEN) == [], "the bottom bar on screen"
        assert chromium.js("return document.documentElement.scrollWidth") <= width, "nothing wider than the screen"
        shot(chromium, "room-alone", language, size)
        check_names_and_focus(chromium, "the room")

        async def with_others():
            phone = Phone(500)
            phone.dial(f"sip:77000@{SERVER_IP}:{server.sip_port}", 30)
            viewer = token_of(join_url(server, "fullName=Grace+Hopper&meetingID=team&role=VIEWER"))
            async with Browser(server, viewer, tone_hz=440):
                chromium.wait_for("document.querySelectorAll('#participants li').length === 3", 20, "a phone and a browser")
                # Somebody talks (the browser's tone, the phone's): the stage shows who.
                chromium.wait_for("document.getElementById('speaker-card').classList.contains('talking')", 15, "a speaker")
                speaker = chromium.js("return document.getElementById('speaker-name').innerText")
                assert speaker and "Teacher" not in speaker, speaker
                assert chromium.js(OFF_SCREEN) == [], "the bottom bar on screen with people"
                shot(chromium, "room-people", language, size)
                if size == "phone":
                    # The side panel is a sheet over the stage, opened from the bottom bar.
                    assert chromium.js("return getComputedStyle(document.getElementById('side-panel')).display") == "none"
                    chromium.call("click", css="#show-participants")
                    chromium.wait_for("getComputedStyle(document.getElementById('side-panel')).display !== 'none'", 5, "the sheet")
                    assert chromium.js(OFF_SCREEN) == [], "the bottom bar stays visible under the sheet"
                    shot(chromium, "room-sheet", language, size)
                    chromium.call("click", css="#side-close")
                else:
                    assert chromium.js("return document.getElementById('panel-participants').hidden") is False
                # A moderator's lock settings: a dialog, applied to the meeting.
                chromium.call("click", css="#more")
                chromium.call("click", css="#open-locks")
                chromium.wait_for("document.getElementById('locks-dialog').open", 5, "the lock settings")
                check_names_and_focus(chromium, "the lock settings")
                shot(chromium, "moderator-locks", language, size)
                chromium.js("document.getElementById('lock-public-chat').checked = true; return 1")
                chromium.call("click", css="#locks-apply")
                chromium.wait_for("!document.getElementById('locks-dialog').open", 5, "closed")
                # Breakout rooms: a dialog that leaves the side panel where it was.
                chromium.call("click", css="#more")
                chromium.call("click", css="#open-breakouts")
                chromium.wait_for("document.getElementById('breakout-panel').open", 5, "the breakout dialog")
                chromium.wait_for("document.querySelectorAll('#breakout-assign select').length === 2", 5, "the viewer and the phone to assign")
                shot(chromium, "breakouts", language, size)
                chromium.js("document.getElementById('breakout-panel').close(); return 1")
            phone.stop()

        asyncio.run(with_others())

        # The waiting screen: a guest of a meeting that asks its moderator, and nothing of the room.
        async def waiting():
            host = token_of(join_url(server, "fullName=Host&meetingID=office&role=MODERATOR"))
            async with Browser(server, host) as moderator_socket:
                guest = join_url(server, f"fullName=Guest&meetingID=office&role=VIEWER&userdata-bbb_override_default_locale={language}")
                open_page(chromium, guest)
                chromium.call("click", css="#join-mic")
                chromium.wait_for("!document.getElementById('waiting-view').hidden", 15, "the waiting screen")
                assert chromium.js("return document.getElementById('room-view').hidden"), "no room while waiting"
                assert chromium.js("return document.getElementById('status').dataset.state") == "statusWaiting"
                check_names_and_focus(chromium, "the waiting screen")
                shot(chromium, "waiting", language, size)
                chromium.call("click", css="#waiting-leave")
                chromium.wait_for("!document.getElementById('join-view').hidden", 5, "back on the join screen")
                # The guest's leaving empties the moderator's waiting room.
                guests = (await moderator_socket.next("guests", 10))["guests"]
                while guests:
                    guests = (await moderator_socket.next("guests", 10))["guests"]

        asyncio.run(waiting())
    finally:
        chromium.close()
