"""Breakout rooms (issue 7) with real peers: two aiortc browsers and two baresip phones split into two
rooms by a moderator; each hears its own room only; when the time is over everybody is back in the main
room. Phone callers are moved by the bridge like browsers (what BigBlueButton cannot do)."""
import asyncio
import time

import pytest

from peers import SERVER_IP, Phone, tone_share_db, wait_for
from test_meetings import SECRET, Browser, api_url, call, server, token_from_join_url  # noqa: F401 (server: the fixture)

bbb = pytest.importorskip("bigbluebutton_api_python")
from bigbluebutton_api_python import BigBlueButton  # noqa: E402


def test_two_browsers_and_two_phones_split_into_two_rooms_and_come_back(server):
    client = BigBlueButton(api_url(server), SECRET)
    client.create_meeting("class", params={"name": "Class", "attendeePW": "ap", "moderatorPW": "mp", "voiceBridge": "75000"})
    teacher = token_from_join_url(server, client.get_join_meeting_url("Teacher", "class", "mp"))
    anna = token_from_join_url(server, client.get_join_meeting_url("Anna", "class", "ap", {"userID": "anna"}))
    ben = token_from_join_url(server, client.get_join_meeting_url("Ben", "class", "ap", {"userID": "ben"}))
    x, y = Phone(700), Phone(1900)
    marks = {}

    async def scenario():
        async with Browser(server, teacher) as t, Browser(server, anna, tone_hz=440) as a, Browser(server, ben, tone_hz=1300) as b:
            x.dial(f"sip:75000@{SERVER_IP}:{server.sip_port}", 40)
            first = await t.phone()
            y.dial(f"sip:75000@{SERVER_IP}:{server.sip_port}", 40)
            second = await t.next("participant-joined", 10)
            assert second["kind"] == "phone"
            await asyncio.sleep(2)
            marks["split"] = time.time()
            await t.send({"type": "breakouts-start", "seconds": 12, "rooms": [
                {"name": "Red", "members": [a.answer["memberId"], first["id"]]},
                {"name": "Blue", "members": [b.answer["memberId"], second["id"]]}]})
            moved = await a.next("moved")
            assert moved["breakout"]["name"] == "Red" and moved["breakout"]["sequence"] == 1
            assert [p["id"] for p in moved["participants"]] == [a.answer["memberId"]], "she is the first in Red"
            assert (await a.next("participant-joined"))["id"] == first["id"], "then the phone is moved in"
            state = await t.next("breakouts")
            assert state["active"] and [r["name"] for r in state["rooms"]] == ["Red", "Blue"]
            # The API shows the rooms as meetings of their own.
            info = call(server, "getMeetingInfo", "meetingID=class")
            assert [e.text for e in info.findall("breakoutRooms/breakout")] == ["class-breakout-1", "class-breakout-2"]
            red = call(server, "getMeetingInfo", "meetingID=class-breakout-1")
            assert red.findtext("isBreakout") == "true" and red.findtext("parentMeetingID") == "class"
            assert red.findtext("voiceBridge") == "7500001" and red.findtext("participantCount") == "2"
            # A viewer cannot run breakout rooms.
            await b.send({"type": "breakouts-end"})
            assert (await b.next("error"))["message"] == "not allowed to manage breakout rooms"
            back = await a.next("moved", 20)
            marks["back"] = time.time()
            assert back["breakout"] is None and t.answer["memberId"] in [p["id"] for p in back["participants"]]
            await asyncio.sleep(6)
            marks["end"] = time.time()
            return a, b

    a, b = asyncio.run(scenario())
    inside = (marks["split"] + 3, marks["back"] - 1)
    after = (marks["back"] + 2, marks["end"])
    a_in, b_in = a.heard_between(*inside), b.heard_between(*inside)
    assert len(a_in) > 4 * 48000, "Anna heard the breakout room"
    assert tone_share_db(a_in, 48000, 700) > -10, "Anna hears her room's phone"
    assert tone_share_db(a_in, 48000, 1300) < -30 and tone_share_db(a_in, 48000, 1900) < -30, "and nothing of Blue"
    assert tone_share_db(b_in, 48000, 1900) > -10, "Ben hears his room's phone"
    assert tone_share_db(b_in, 48000, 440) < -30 and tone_share_db(b_in, 48000, 700) < -30, "and nothing of Red"
    a_after = a.heard_between(*after)
    for hz in (700, 1300, 1900):
        assert tone_share_db(a_after, 48000, hz) > -20, f"back in the main room Anna hears {hz} Hz"
    x.wait(45)
    y.wait(45)
    for phone, own_room_tone, other_tone in ((x, 440, 1300), (y, 1300, 440)):
        heard, rate = phone.heard()
        # The recording starts when the call is answered, about when it was dialled.
        offset = len(heard) / rate - (time.time() - marks["split"] + 2)
        window = heard[int((offset + 5) * rate):int((offset + 10) * rate)]
        assert tone_share_db(window, rate, own_room_tone) > -10, f"{phone.name} hears its room's browser"
        assert tone_share_db(window, rate, other_tone) < -30, f"{phone.name} hears nothing of the other room"
    info = call(server, "getMeetingInfo", "meetingID=class")
    assert info.find("breakoutRooms") is None, "the rooms are closed"


def test_extend_end_early_leave_visit_dial_in_help_and_message(server):
    client = BigBlueButton(api_url(server), SECRET)
    client.create_meeting("course", params={"name": "Course", "attendeePW": "ap", "moderatorPW": "mp", "voiceBridge": "77000"})
    teacher = token_from_join_url(server, client.get_join_meeting_url("Teacher", "course", "mp"))
    anna = token_from_join_url(server, client.get_join_meeting_url("Anna", "course", "ap"))
    x, z = Phone(700), Phone(1900)

    def participants(meeting: str) -> int:
        return int(call(server, "getMeetingInfo", f"meetingID={meeting}").findtext("participantCount"))

    async def scenario():
        async with Browser(server, teacher) as t:
            a = Browser(server, anna, tone_hz=440)
            await a.__aenter__()
            x.dial(f"sip:77000@{SERVER_IP}:{server.sip_port}", 30)
            phone = await t.phone()
            await t.send({"type": "breakouts-start", "seconds": 30, "rooms": [
                {"name": "Red", "members": [a.answer["memberId"], phone["id"]]}, {"name": "Blue", "members": []}]})
            first = await t.next("breakouts")
            assert (await a.next("moved"))["breakout"]["name"] == "Red"
            # A caller dials a breakout room's own number.
            z.dial(f"sip:7700002@{SERVER_IP}:{server.sip_port}", 30)
            await wait_for(lambda: participants("course-breakout-2") == 1, 5, "the caller is in Blue")
            # The moderator visits Blue, and tells every room something.
            await t.send({"type": "breakouts-visit", "sequence": 2})
            visit = await t.next("moved")
            assert visit["breakout"]["name"] == "Blue" and any(p["kind"] == "phone" for p in visit["participants"])
            await t.send({"type": "breakouts-message", "text": "Five minutes left"})
            assert (await a.next("chat"))["text"] == "Five minutes left"
            # The phone in Red asks for help with its 9 key; the moderator (in Blue) hears of it.
            x.send_digits("9")
            help_request = await t.next("help", 10)
            assert help_request["room"] == "Red" and help_request["sequence"] == 1
            # Anna leaves during the breakout.
            await a.__aexit__(None, None, None)
            await wait_for(lambda: participants("course-breakout-1") == 1, 5, "only the phone is left in Red")
            # More time, then the end before the timer.
            await t.send({"type": "breakouts-extend", "seconds": 60})
            extended = await t.next("breakouts")
            assert extended["endsAt"] - first["endsAt"] >= 59_000
            # Ending one room through the API sends its people back (nobody is hung up).
            assert call(server, "end", "meetingID=course-breakout-2&password=mp").findtext("returncode") == "SUCCESS"
            back = await t.next("moved")
            assert back["breakout"] is None, "the visiting moderator is back in the main room"
            assert call(server, "getMeetingInfo", "meetingID=course-breakout-2").findtext("messageKey") == "notFound"
            await t.send({"type": "breakouts-end"})
            await wait_for(lambda: participants("course") == 3, 5, "the teacher and both callers are back in the main room")
            assert call(server, "getMeetingInfo", "meetingID=course-breakout-1").findtext("messageKey") == "notFound"

    asyncio.run(scenario())
    x.stop()
    z.stop()
