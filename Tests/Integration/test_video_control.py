"""Who may show a camera and who sees whose (issue 15): a meeting made by a PyPI BigBlueButton client,
a moderator and a viewer in headless Chromium with fake cameras, and an aiortc viewer on a plain
WebSocket. getMeetingInfo counts the cameras; a moderator stops a viewer's camera from the participant
list; locking viewers' cameras stops the one that is on and refuses new ones (the aiortc viewer's
offer with a camera is refused and changes nothing); with webcamsOnlyForModerator a viewer never
hears of another viewer's camera, while the moderator sees it."""
import asyncio
import time
from pathlib import Path

import pytest

from peers import Chromium, wait_until

pytest.importorskip("selenium")
pytest.importorskip("bigbluebutton_api_python")
if not Path("/usr/bin/chromium").exists():
    pytest.skip("chromium is not installed", allow_module_level=True)

from bigbluebutton_api_python import BigBlueButton  # noqa: E402

from test_meetings import SECRET, Browser, api_url, server, token_from_join_url  # noqa: E402,F401 (server: the fixture)
from test_video import start_camera  # noqa: E402
from test_web_client import open_page  # noqa: E402

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
REMOTE = "document.querySelector('#video-grid .tile:not(.self) video')"
DECODED = f"(() => {{ const v = {REMOTE}; return v && v.videoWidth > 0 ? v.getVideoPlaybackQuality().totalVideoFrames : 0; }})()"


def enter(page: Chromium, server, token: str, query: str = ""):
    open_page(page, f"{server.base_url}/?token={token}{query}")
    page.call("click", css="#join-mic")
    page.wait_for("document.getElementById('status').dataset.state === 'statusConnected'", 15, "connected")


def cameras_in_meeting(client, meeting: str) -> tuple[int, dict]:
    info = client.get_meeting_info(meeting)
    return info.get_meetinginfo().get_videocount(), {a.get_fullname(): a.has_video() for a in info.get_attendees()}


def row_action(page: Chromium, name: str, action: str):
    """Opens `name`'s menu in the participant list and picks `action` (a class of the menu item)."""
    row = f"[...document.querySelectorAll('#participants li')].find(li => li.innerText.includes('{name}'))"
    page.wait_for(f"{row}?.querySelector('.participant-actions')", 5, f"{name}'s menu")
    page.js(f"{row}.querySelector('.participant-actions').click()")
    page.wait_for(f"{row}.querySelector('.{action}')", 5, f"{action} offered")
    page.js(f"{row}.querySelector('.{action}').click()")


def set_lock(page: Chromium, checkbox: str, on: bool):
    page.call("click", css="#more")
    page.call("click", css="#open-locks")
    page.wait_for("document.getElementById('locks-dialog').open", 5, "the lock dialog")
    if page.js(f"return document.getElementById('{checkbox}').checked") != on:
        page.call("click", css=f"#{checkbox}")
    page.call("click", css="#locks-apply")
    page.wait_for(f"!document.getElementById('locks-dialog').open", 5, "the lock applied")


async def offer_with_camera(viewer: Browser) -> dict:
    """The aiortc viewer starts a camera on its joined session: a new offer with a video m-line."""
    from aiortc import VideoStreamTrack
    viewer.pc.addTrack(VideoStreamTrack())
    await viewer.pc.setLocalDescription(await viewer.pc.createOffer())
    await viewer.send({"type": "renegotiate", "sdp": viewer.pc.localDescription.sdp})
    end = time.time() + 5
    while time.time() < end:
        message = await viewer.next(("error", "renegotiated"), end - time.time())
        if message.get("type") == "renegotiated" or message.get("request") == "renegotiate":
            return message
    raise AssertionError("no reply to the renegotiation")


def test_camera_locks_caps_and_a_moderator_who_stops_a_camera(server):
    client = BigBlueButton(api_url(server), SECRET)
    client.create_meeting("cams", params={"name": "Camera class", "attendeePW": "ap", "moderatorPW": "mp", "userCameraCap": "1"})
    teacher_token = token_from_join_url(server, client.get_join_meeting_url("Teacher", "cams", "mp"))
    anna_token = token_from_join_url(server, client.get_join_meeting_url("Anna", "cams", "ap", {"userID": "anna"}))
    ben_token = token_from_join_url(server, client.get_join_meeting_url("Ben", "cams", "ap", {"userID": "ben"}))
    teacher, anna = Chromium(server), Chromium(server, width=360, height=740)
    try:
        enter(teacher, server, teacher_token)
        enter(anna, server, anna_token, "&lang=de")
        anna.call("size", width=360, height=740)

        # Anna shows her camera: the teacher decodes it, getMeetingInfo counts it.
        start_camera(anna)
        teacher.wait_for(f"{DECODED} > 20", 20, "Anna's camera on the teacher's page")
        wait_until(lambda: cameras_in_meeting(client, "cams") == (1, {"Teacher": False, "Anna": True}), 5, "videoCount 1")
        teacher.wait_for("[...document.querySelectorAll('#participants li')].find(li => li.innerText.includes('Anna'))"
                         "?.querySelector('.state .icon')", 5, "a camera icon in Anna's row")

        # The teacher stops it from the participant list: Anna's page turns it off and says why.
        row_action(teacher, "Anna", "stop-camera")
        anna.wait_for("document.getElementById('camera').getAttribute('aria-pressed') === 'false'", 5, "Anna's camera off")
        teacher.wait_for(f"!{REMOTE}", 10, "Anna's tile gone")
        wait_until(lambda: cameras_in_meeting(client, "cams")[0] == 0, 5, "videoCount 0")
        assert "Moderation" in anna.js("return document.body.innerText"), "Anna is told (in German)"

        # She may start it again (a stop is no lock) ...
        start_camera(anna)
        teacher.wait_for(f"{DECODED} > 20", 20, "Anna's camera again")

        async def scenario():
            async with Browser(server, ben_token) as ben:
                await ben.next("cameras", 5)
                # ... until the teacher locks viewers' cameras: hers stops, the button greys out.
                set_lock(teacher, "lock-camera", True)
                anna.wait_for("document.getElementById('camera').getAttribute('aria-pressed') === 'false'"
                              " && document.getElementById('camera').disabled", 5, "Anna's camera locked")
                teacher.wait_for(f"!{REMOTE}", 10, "Anna's tile gone again")
                SCREENSHOTS.mkdir(exist_ok=True)
                anna.call("screenshot", path=str(SCREENSHOTS / "client-cameras-locked-de-phone.png"))
                # Ben (aiortc) offers a camera anyway: refused whole, the session goes on.
                refused = await offer_with_camera(ben)
                assert refused["type"] == "error" and refused["code"] == "cameras-locked", refused
                assert cameras_in_meeting(client, "cams")[0] == 0
                await ben.send({"type": "hand", "raised": True})
                assert (await ben.next("hand", 5))["raised"], "the session still works"

                # The moderator is never locked, and everybody sees the moderator's camera.
                start_camera(teacher)
                anna.wait_for(f"{DECODED} > 20", 20, "the teacher's camera on Anna's page")

                # webcamsOnlyForModerator: Anna's camera reaches the teacher, never Ben.
                set_lock(teacher, "lock-camera", False)
                await ben.next("lock", 5)
                set_lock(teacher, "lock-viewers-cameras", True)
                await ben.next("lock", 5)
                mark = len(ben.messages)
                anna.wait_for("!document.getElementById('camera').disabled", 5, "Anna's camera unlocked")
                start_camera(anna)
                wait_until(lambda: cameras_in_meeting(client, "cams")[0] == 2, 10, "two cameras")
                teacher.wait_for("document.querySelectorAll('#video-grid .tile:not(.self) video').length === 1"
                                 f" && {DECODED} > 10", 20, "Anna's camera on the teacher's page")
                anna_id = anna.js("return [...document.querySelectorAll('#participants li')].find(li => li.innerText.includes('Anna')).dataset.id")
                lists = [m["cameras"] for m in ben.messages[mark:] if m["type"] == "cameras"]
                try:
                    while True:
                        lists.append((await ben.next("cameras", 1.5))["cameras"])
                except AssertionError:
                    pass  # no more news
                assert lists and all(c["member"] != int(anna_id) for cams in lists for c in cams), lists
                assert len(lists[-1]) == 1, f"Ben sees only the teacher's camera: {lists[-1]}"

        asyncio.run(scenario())
    finally:
        teacher.close()
        anna.close()


SCREEN = "document.querySelector('#screen-view video')"
SCREEN_FRAMES = (f"(() => {{ const v = {SCREEN}; return v && !document.getElementById('screen-view').hidden && v.videoWidth > 0"
                 f" ? v.getVideoPlaybackQuality().totalVideoFrames : 0; }})()")


def test_the_presenter_shares_a_screen_one_at_a_time(server):
    """Screen sharing (issue 15): the presenter's screen (Chromium's fake capture, 2560×1440) reaches the
    room large, at its size; a viewer who does not present cannot share (the aiortc viewer's offer is
    refused); a second screen while one is shared is refused; whoever stops presenting stops sharing."""
    client = BigBlueButton(api_url(server), SECRET)
    client.create_meeting("talk", params={"name": "Talk", "attendeePW": "ap", "moderatorPW": "mp"})
    teacher_token = token_from_join_url(server, client.get_join_meeting_url("Teacher", "talk", "mp"))
    anna_token = token_from_join_url(server, client.get_join_meeting_url("Anna", "talk", "ap", {"userID": "anna"}))
    ben_token = token_from_join_url(server, client.get_join_meeting_url("Ben", "talk", "ap", {"userID": "ben"}))
    teacher, anna = Chromium(server), Chromium(server, width=360, height=740)
    try:
        enter(teacher, server, teacher_token)
        enter(anna, server, anna_token, "&lang=de")
        anna.call("size", width=360, height=740)
        assert anna.js("return document.getElementById('share').hidden"), "a viewer who does not present has no share button"
        assert not teacher.js("return document.getElementById('share').hidden"), "the first moderator presents"

        teacher.call("click", css="#share")
        anna.wait_for(f"{SCREEN_FRAMES} > 5", 20, "the teacher's screen on Anna's page")
        captured = teacher.js(f"return [{SCREEN}.videoWidth, {SCREEN}.videoHeight]")  # the teacher's own preview
        anna.wait_for(f"{SCREEN}.videoWidth === {captured[0]}", 10, "the screen at its size (the encoder ramps up)")
        assert anna.js(f"return [{SCREEN}.videoWidth, {SCREEN}.videoHeight]") == captured and captured[0] >= 1280, captured
        assert anna.js("return document.getElementById('screen-caption').innerText") == "Bildschirm von Teacher"
        start_camera(teacher)
        anna.wait_for(f"{DECODED} > 5", 20, "the teacher's camera in the strip beside the screen")
        SCREENSHOTS.mkdir(exist_ok=True)
        anna.call("screenshot", path=str(SCREENSHOTS / "client-screen-de-phone.png"))
        teacher.call("screenshot", path=str(SCREENSHOTS / "client-screen-own-en-desktop.png"))

        async def scenario():
            async with Browser(server, ben_token) as ben:
                # Ben offers a screen without presenting: refused, nothing changes.
                from aiortc import VideoStreamTrack
                ben.pc.addTrack(VideoStreamTrack())
                await ben.pc.setLocalDescription(await ben.pc.createOffer())
                mid = [t.mid for t in ben.pc.getTransceivers() if t.kind == "video"][0]
                await ben.send({"type": "renegotiate", "sdp": ben.pc.localDescription.sdp, "screen": mid})
                refused = await ben.next(("error",), 5)
                assert refused["code"] == "not-allowed" and refused["request"] == "renegotiate", refused

                # Anna presents now, but the teacher (a moderator) still shares: hers is refused. (She
                # shares from a wide window: a phone-sized one has no share button.)
                row_action(teacher, "Anna", "presenter")
                assert anna.js("return document.getElementById('share').hidden"), "no share button at 360 px"
                anna.call("size", width=1280, height=800)
                anna.wait_for("!document.getElementById('share').hidden", 5, "Anna may share")
                anna.call("click", css="#share")
                anna.wait_for("document.getElementById('share').getAttribute('aria-pressed') === 'false'"
                              " && document.body.innerText.includes('teilt schon jemand')", 10, "refused: somebody else shares")
                assert anna.js(f"return {SCREEN_FRAMES}") > 5, "the teacher's screen still shows, undisturbed"
                assert anna.js("return document.getElementById('screen-caption').innerText") == "Bildschirm von Teacher"

                # The teacher stops; Anna shares; the teacher sees hers.
                teacher.call("click", css="#share")
                anna.wait_for("document.getElementById('screen-view').hidden", 10, "the teacher's screen gone")
                anna.call("click", css="#share")
                teacher.wait_for(f"{SCREEN_FRAMES} > 5", 20, "Anna's screen on the teacher's page")
                assert teacher.js(f"return {SCREEN}.videoWidth") >= 640
                teacher.call("screenshot", path=str(SCREENSHOTS / "client-screen-en-desktop.png"))

                # Ben becomes the presenter: Anna no longer presents, and her sharing stops.
                row_action(teacher, "Ben", "presenter")
                teacher.wait_for("document.getElementById('screen-view').hidden", 10, "Anna's screen gone")
                anna.wait_for("document.getElementById('share').hidden", 10, "Anna's share button gone")
                await ben.next("presenter", 5)

        asyncio.run(scenario())
    finally:
        teacher.close()
        anna.close()


def test_a_token_for_one_meeting_never_subscribes_to_another_meetings_camera(server):
    """Two meetings; aiortc publishes a camera in the first. A participant of the second names that
    camera's id in its subscriptions: its slot stays inactive and nothing reaches it."""
    from aiortc import VideoStreamTrack

    client = BigBlueButton(api_url(server), SECRET)
    for meeting in ("red", "blue"):
        client.create_meeting(meeting, params={"name": meeting.title(), "attendeePW": "ap", "moderatorPW": "mp"})
    red = token_from_join_url(server, client.get_join_meeting_url("Publisher", "red", "mp"))
    blue = token_from_join_url(server, client.get_join_meeting_url("Intruder", "blue", "mp"))

    async def scenario():
        async with Browser(server, red) as publisher:
            publisher.pc.addTrack(VideoStreamTrack())
            await publisher.pc.setLocalDescription(await publisher.pc.createOffer())
            await publisher.send({"type": "renegotiate", "sdp": publisher.pc.localDescription.sdp})
            answer = await publisher.next(("renegotiated",), 5)
            from aiortc import RTCSessionDescription
            await publisher.pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
            announced = [m for m in publisher.messages if m["type"] == "cameras" and m["cameras"]]
            camera = (announced[-1] if announced else await publisher.next("cameras", 5))["cameras"][0]["id"]
            async with Browser(server, blue) as intruder:
                intruder.pc.addTransceiver("video", direction="recvonly")
                await intruder.pc.setLocalDescription(await intruder.pc.createOffer())
                mid = [t.mid for t in intruder.pc.getTransceivers() if t.kind == "video"][0]
                await intruder.send({"type": "renegotiate", "sdp": intruder.pc.localDescription.sdp, "subscriptions": {mid: camera}})
                reply = await intruder.next(("renegotiated", "error"), 5)
                assert reply["type"] == "renegotiated", reply
                slot = reply["sdp"].split("m=video")[1].split("m=")[0]
                assert "a=inactive" in slot, f"the slot carries nothing: {slot}"
                assert all(m["type"] != "cameras" or all(c["id"] != camera for c in m["cameras"]) for m in intruder.messages), \
                    "the other meeting's cameras are never announced"

    asyncio.run(scenario())
