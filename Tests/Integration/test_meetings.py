"""Meetings and the BigBlueButton-compatible API (issue 6) with a real API client from PyPI
(bigbluebutton_api_python, which signs with SHA-1; SHA-256/384/512 checksums are computed here), an
aiortc browser that joins through a join URL, and a baresip phone that dials the voice bridge."""
import asyncio
import hashlib
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

import pytest

from peers import SERVER_IP, Phone, Server, wait_until

aiortc = pytest.importorskip("aiortc")
websockets = pytest.importorskip("websockets")
bbb = pytest.importorskip("bigbluebutton_api_python")
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription  # noqa: E402
from bigbluebutton_api_python import BigBlueButton  # noqa: E402
from bigbluebutton_api_python.exception import BBBException  # noqa: E402

SECRET = "plenum-test-secret-0123456789abcdef"


@pytest.fixture
def server():
    s = Server(api_secret=SECRET)
    # The client library opens its own HTTPS connections: trust exactly this server's certificate.
    os.environ["SSL_CERT_FILE"] = str(s.ssl_context_file())
    yield s
    os.environ.pop("SSL_CERT_FILE", None)
    assert s.alive(), "the server must survive every test"
    assert s.stop()


def api_url(server) -> str:
    return f"{server.base_url}/bigbluebutton/api/"


def call(server, name: str, query: str, algorithm: str = "sha256", secret: str = SECRET) -> ET.Element:
    """An API call with a checksum computed here: the call name + the query as sent + the secret."""
    checksum = hashlib.new(algorithm, (name + query + secret).encode()).hexdigest()
    url = f"{api_url(server)}{name}?{query}{'&' if query else ''}checksum={checksum}"
    with urllib.request.urlopen(url, context=server.ssl_context(), timeout=5) as response:
        return ET.fromstring(response.read())


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def join_error(server, query: str) -> str:
    """The error key a join's redirect carries (`errors=[{"key": …, "message": …}]`)."""
    checksum = hashlib.sha256(("join" + query + SECRET).encode()).hexdigest()
    opener = urllib.request.build_opener(NoRedirect, urllib.request.HTTPSHandler(context=server.ssl_context()))
    try:
        opener.open(f"{api_url(server)}join?{query}&checksum={checksum}", timeout=5)
    except urllib.error.HTTPError as redirect:
        assert redirect.code == 302
        errors = urllib.parse.parse_qs(urllib.parse.urlparse(redirect.headers["Location"]).query)["errors"][0]
        return json.loads(errors)[0]["key"]
    raise AssertionError("no redirect")


def token_from_join_url(server, url: str) -> str:
    """Follows the join URL like a browser: a redirect to the web client with a session token."""
    opener = urllib.request.build_opener(NoRedirect, urllib.request.HTTPSHandler(context=server.ssl_context()))
    try:
        opener.open(url, timeout=5)
    except urllib.error.HTTPError as redirect:
        assert redirect.code == 302, redirect.read()
        location = redirect.headers["Location"]
        return urllib.parse.parse_qs(urllib.parse.urlparse(location).query)["token"][0]
    raise AssertionError("the join URL did not redirect")


class Browser:
    """An aiortc participant that joined with a token; keeps its WebSocket for moderation messages.
    With `tone_hz` its microphone plays a sine; with `expect="waiting"` it stops in the waiting room."""

    def __init__(self, server, token: str, tone_hz: float | None = None, expect: str = "answer"):
        self.server, self.token, self.tone_hz, self.expect = server, token, tone_hz, expect
        self.messages: list[dict] = []

    async def __aenter__(self):
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        if self.tone_hz:
            from test_webrtc import ToneTrack
            self.pc.addTrack(ToneTrack(self.tone_hz))
        else:
            self.pc.addTransceiver("audio", direction="sendrecv")
        self.heard: list[tuple[float, object]] = []  # (arrival time, 48 kHz mono samples) per frame
        from test_webrtc import record_into
        record_into(self.pc, self.heard, timed=True)
        await self.pc.setLocalDescription(await self.pc.createOffer())
        self.ws = await websockets.connect(self.server.ws_url, ssl=self.server.ssl_context())
        await self.ws.send(json.dumps({"type": "join", "token": self.token, "name": "ignored", "sdp": self.pc.localDescription.sdp}))
        first = json.loads(await self.ws.recv())
        assert first["type"] == self.expect, first
        if first["type"] == "answer":
            await self.accept(first)
        return self

    async def accept(self, answer: dict):
        self.answer = answer
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))

    async def __aexit__(self, *exc):
        try:
            await self.ws.send(json.dumps({"type": "leave"}))
        except Exception:
            pass
        await self.ws.close()
        await self.pc.close()

    def heard_between(self, start: float, end: float):
        """What arrived between two wall-clock times, as one 48 kHz array."""
        import numpy as np
        chunks = [data for at, data in self.heard if start <= at < end]
        return np.concatenate(chunks) if chunks else np.zeros(0)

    async def send(self, message: dict):
        await self.ws.send(json.dumps(message))

    async def phone(self, timeout: float = 10) -> dict:
        """The phone caller in the room: already listed in the answer, or joining later."""
        for participant in self.answer["participants"]:
            if participant["kind"] == "phone":
                return participant
        end = time.time() + timeout
        while time.time() < end:
            joined = await self.next("participant-joined", end - time.time())
            if joined["kind"] == "phone":
                return joined
        raise AssertionError("no phone caller")

    async def next(self, kind: str | tuple[str, ...], timeout: float = 5) -> dict:
        """The next message of type `kind` (or of one of several types); others are kept in `messages`."""
        kinds = (kind,) if isinstance(kind, str) else kind
        end = time.time() + timeout
        while time.time() < end:
            try:
                message = json.loads(await asyncio.wait_for(self.ws.recv(), timeout=max(0.05, end - time.time())))
            except asyncio.TimeoutError:
                break
            self.messages.append(message)
            if message["type"] in kinds:
                return message
        raise AssertionError(f"no {' or '.join(kinds)} message; got {self.messages[-5:]}")


def test_a_real_client_creates_joins_sees_browser_and_phone_and_ends(server):
    client = BigBlueButton(api_url(server), SECRET)
    assert client.get_api_version().get_field("version") == "2.0"
    created = client.create_meeting("physics-101", params={
        "name": "Physics 101", "attendeePW": "ap", "moderatorPW": "mp", "voiceBridge": "71234", "welcome": "Hello <b>all</b>"})
    assert created.get_voice_bridge() == "71234" and created.get_moderator_pw() == "mp"
    again = client.create_meeting("physics-101", params={"name": "Physics 101", "attendeePW": "ap", "moderatorPW": "mp"})
    assert again.get_field("messageKey") == "duplicateWarning", "create is idempotent"
    assert again.get_voice_bridge() == "71234"

    token = token_from_join_url(server, client.get_join_meeting_url("Ada Lovelace", "physics-101", "mp"))
    phone = Phone(1000)
    phone.dial(f"sip:71234@{SERVER_IP}:{server.sip_port}", 30)

    async def scenario():
        async with Browser(server, token) as ada:
            assert ada.answer["role"] == "moderator" and "endMeeting" in ada.answer["permissions"]
            await ada.phone()
            info = client.get_meeting_info("physics-101")
            meeting = info.get_meetinginfo()
            attendees = {a.get_fullname(): a for a in info.get_attendees()}
            assert meeting.get_participantcount() == 2 and meeting.get_voiceparticipantcount() == 2, attendees
            assert attendees["Ada Lovelace"].get_role() == "MODERATOR"
            assert ada.answer["presenter"] == ada.answer["memberId"] and attendees["Ada Lovelace"].is_presenter(), \
                "the first moderator presents"
            phone_attendee = next(a for name, a in attendees.items() if name != "Ada Lovelace")
            assert phone_attendee.get_role() == "DIAL-IN-USER" and phone_attendee.has_joined_voice()
            assert not phone_attendee.is_presenter()
            assert client.is_meeting_running("physics-101").is_meeting_running()
            # Ending through the API: every leg goes, every browser is told.
            client.end_meeting("physics-101", "mp")
            ended = await ada.next("meeting-ended", 5)
            assert ended["type"] == "meeting-ended"

    asyncio.run(scenario())
    assert phone.wait_for_log("session closed", 5), "the phone was hung up: " + phone.log_text()[-800:]
    phone.stop()
    with pytest.raises(BBBException) as error:
        client.get_meeting_info("physics-101")
    assert str(error.value.key) == "notFound", "the meeting is gone"
    assert call(server, "isMeetingRunning", "meetingID=physics-101").findtext("running") == "false"


def test_checksums_and_errors_as_bigbluebutton_reports_them(server):
    for algorithm in ["sha1", "sha256", "sha384", "sha512"]:
        response = call(server, "create", f"name=Room+{algorithm}&meetingID=m-{algorithm}", algorithm)
        assert response.findtext("returncode") == "SUCCESS", ET.tostring(response)
        assert len(response.findtext("voiceBridge")) == 5
    response = call(server, "getMeetings", "")
    assert len(response.findall("meetings/meeting")) == 4

    def failed(response: ET.Element) -> str:
        assert response.findtext("returncode") == "FAILED", ET.tostring(response)
        return response.findtext("messageKey")

    assert failed(call(server, "create", "name=Room&meetingID=xy", secret="wrong")) == "checksumError"
    with urllib.request.urlopen(f"{api_url(server)}create?name=Room&meetingID=xy", context=server.ssl_context()) as r:
        assert failed(ET.fromstring(r.read())) == "checksumError", "no checksum at all"
    assert failed(call(server, "create", "name=NoID")) == "validationError"
    assert failed(call(server, "create", "name=Room&meetingID=")) == "sizeError"
    assert failed(call(server, "create", "name=Room&meetingID=a,b")) == "validationError"
    assert failed(call(server, "create", "meetingID=no-name")) == "nullError"
    assert failed(call(server, "create", "name=Room+sha1&meetingID=m-sha1&attendeePW=other&moderatorPW=pw")) == "idNotUnique"
    clash = call(server, "create", f"name=Clash&meetingID=clash&voiceBridge={response.find('meetings/meeting/voiceBridge').text}")
    assert clash.findtext("returncode") == "FAILED" and clash.findtext("errors/error/key") == "nonUniqueVoiceBridge"
    assert failed(call(server, "getMeetingInfo", "meetingID=nope")) == "notFound"
    assert failed(call(server, "end", "meetingID=nope")) == "invalidPassword", "as BigBlueButton reports it"
    assert failed(call(server, "isMeetingRunning", "")) == "missingParamMeetingID"
    assert call(server, "isMeetingRunning", "meetingID=nope").findtext("running") == "false"
    # join's validation errors redirect to the logout URL with the error, as BigBlueButton does.
    assert join_error(server, "fullName=A&meetingID=nope&role=VIEWER") == "meetingForciblyEnded"
    assert join_error(server, "fullName=&meetingID=m-sha1&role=VIEWER") == "missingParamFullName"
    assert failed(call(server, "join", "fullName=A&meetingID=m-sha1&password=wrong")) == "Params required"
    assert failed(call(server, "join", "fullName=A&meetingID=m-sha1")) == "Params required"
    # Repeated and case-variant parameters: BigBlueButton signs the whole query and takes the first value;
    # a name in another case is another, unknown parameter.
    assert call(server, "getMeetingInfo", "meetingID=m-sha1&meetingID=m-sha256").findtext("meetingID") == "m-sha1"
    assert call(server, "getMeetingInfo", "meetingID=m-sha1&meetingid=m-sha256").findtext("meetingID") == "m-sha1"
    assert failed(call(server, "getMeetingInfo", "meetingid=m-sha1")) == "notFound"
    # Metadata and text come back escaped, never as markup.
    created = call(server, "create", "meetingID=meta&name=%3Cscript%3E&meta_course=Bio+%26+Chem")
    info = call(server, "getMeetingInfo", "meetingID=meta")
    assert created.findtext("returncode") == "SUCCESS"
    assert info.findtext("meetingName") == "<script>" and info.findtext("metadata/course") == "Bio & Chem"
    redirect = call(server, "join", "fullName=A&meetingID=meta&role=VIEWER&redirect=false")
    assert redirect.findtext("returncode") == "SUCCESS" and "/?token=" in redirect.findtext("url")


def test_viewers_are_refused_and_moderators_are_obeyed(server):
    client = BigBlueButton(api_url(server), SECRET)
    client.create_meeting("class", params={"name": "Class", "attendeePW": "ap", "moderatorPW": "mp", "voiceBridge": "72000"})
    client.create_meeting("other", params={"name": "Other", "attendeePW": "ap", "moderatorPW": "mp", "voiceBridge": "72001"})
    teacher = token_from_join_url(server, client.get_join_meeting_url("Teacher", "class", "mp"))
    pupil = token_from_join_url(server, client.get_join_meeting_url("Pupil", "class", "ap", {"userID": "pupil-1"}))
    stranger = token_from_join_url(server, client.get_join_meeting_url("Stranger", "other", "ap"))
    phone = Phone(1000)
    phone.dial(f"sip:72000@{SERVER_IP}:{server.sip_port}", 25)

    async def scenario():
        async with Browser(server, teacher) as t, Browser(server, pupil) as p, Browser(server, stranger) as s:
            assert p.answer["role"] == "viewer" and "muteOthers" not in p.answer["permissions"]
            phone_id, teacher_id = (await t.phone())["id"], t.answer["memberId"]
            # A viewer may not act on others.
            for message, refusal in [({"type": "mute", "id": phone_id, "muted": True}, "not allowed to mute others"),
                                     ({"type": "remove", "id": teacher_id}, "not allowed to remove participants"),
                                     ({"type": "promote", "id": p.answer["memberId"]}, "not allowed to change roles"),
                                     ({"type": "rename", "id": phone_id, "name": "x"}, "not allowed to rename participants"),
                                     ({"type": "end-meeting"}, "not allowed to end the meeting"),
                                     ({"type": "lock", "microphone": True}, "not allowed to change lock settings")]:
                await p.send(message)
                error = await p.next("error")
                assert error["message"] == refusal, (message, error)
            # Ids from another meeting are not found, even by a moderator of this one.
            await t.send({"type": "mute", "id": s.answer["memberId"] + 1000, "muted": True})
            assert (await t.next("error"))["message"] == "no such participant"
            await s.send({"type": "mute", "id": phone_id, "muted": True})
            assert (await s.next("error"))["message"] == "no such participant", "member ids are unique across rooms"
            # The moderator mutes and renames the phone caller (the room hears of both) and locks microphones.
            await t.send({"type": "mute", "id": phone_id, "muted": True})
            muted = await p.next("muted")
            assert muted["id"] == phone_id and muted["muted"] is True
            await t.send({"type": "mute", "id": phone_id, "muted": False})
            assert (await t.next("error"))["message"] == "only participants unmute themselves"
            await t.send({"type": "rename", "id": phone_id, "name": "Grandma (phone)"})
            renamed = await p.next("renamed")
            assert renamed == {"type": "renamed", "id": phone_id, "name": "Grandma (phone)"}
            await t.send({"type": "lock", "microphone": True})
            await p.next("lock")
            await p.send({"type": "mute", "muted": False})
            assert (await p.next("error"))["message"] == "microphones are locked"
            # Promote, then remove; the removed pupil cannot come back.
            await t.send({"type": "promote", "id": p.answer["memberId"]})
            assert (await p.next("you"))["role"] == "moderator"
            await t.send({"type": "remove", "id": p.answer["memberId"]})
            assert (await p.next("removed"))["type"] == "removed"
            names = [a.get_fullname() for a in client.get_meeting_info("class").get_attendees()]
            assert "Grandma (phone)" in names and "Pupil" not in names, names
            again = Browser(server, pupil)
            with pytest.raises(AssertionError, match="you were removed from this meeting"):
                await again.__aenter__()
            await again.ws.close()
            await again.pc.close()

    asyncio.run(scenario())
    phone.stop()


def test_the_waiting_room_holds_phones_and_browsers_until_a_moderator_decides(server):
    """ASK_MODERATOR: a phone caller hears only the waiting prompt, nothing of the meeting, until the
    moderator lets it in; a browser guest gets no media until admitted, or is turned away."""
    client = BigBlueButton(api_url(server), SECRET)
    client.create_meeting("exam", params={"name": "Exam", "attendeePW": "ap", "moderatorPW": "mp", "voiceBridge": "74000",
                                          "guestPolicy": "ASK_MODERATOR"})
    moderator = token_from_join_url(server, client.get_join_meeting_url("Proctor", "exam", "mp"))
    guest = token_from_join_url(server, client.get_join_meeting_url("Late Student", "exam", "ap", {"userID": "late"}))
    intruder = token_from_join_url(server, client.get_join_meeting_url("Intruder", "exam", "ap", {"userID": "intruder"}))
    phone = Phone(1000)
    timeline = {}

    async def scenario():
        async with Browser(server, moderator, tone_hz=2500) as proctor:
            phone.dial(f"sip:74000@{SERVER_IP}:{server.sip_port}", 24)
            timeline["dialled"] = time.time()
            guests = await proctor.next("guests", 10)
            while not guests["guests"]:
                guests = await proctor.next("guests", 10)
            waiting_phone = guests["guests"][0]
            assert waiting_phone["kind"] == "phone"
            info = client.get_meeting_info("exam")
            assert [a.get_fullname() for a in info.get_attendees()] == ["Proctor"], "a waiting caller is not in the meeting"
            await asyncio.sleep(8)  # the caller waits and hears the prompt only
            timeline["admitted"] = time.time()
            await proctor.send({"type": "admit", "guest": waiting_phone["id"], "allow": True})
            await proctor.phone()
            # Browser guests: one turned away, one let in.
            async with Browser(server, intruder, expect="waiting") as nope, Browser(server, guest, expect="waiting") as late:
                seen = {}
                while len(seen) < 2:
                    for g in (await proctor.next("guests"))["guests"]:
                        seen[g["name"]] = g["id"]
                await nope.send({"type": "chat", "text": "let me in"})
                assert (await nope.next("error"))["message"] == "waiting for a moderator"
                await proctor.send({"type": "admit", "guest": seen["Intruder"], "allow": False})
                assert (await nope.next("denied"))["type"] == "denied"
                await proctor.send({"type": "admit", "guest": seen["Late Student"], "allow": True})
                await late.accept(await late.next("answer"))
                assert late.answer["role"] == "viewer"
                await late.send({"type": "chat", "text": "thanks"})
                assert (await proctor.next("chat"))["text"] == "thanks"
                viewer = token_from_join_url(server, client.get_join_meeting_url("Viewer", "exam", "ap"))
                async with Browser(server, viewer, expect="waiting") as v:
                    await v.send({"type": "admit", "guest": 1, "allow": True})
                    assert (await v.next("error"))["message"] == "waiting for a moderator"
                await asyncio.sleep(6)

    asyncio.run(scenario())
    phone.wait(30)
    heard, rate = phone.heard()
    start = len(heard) / rate - (time.time() - timeline["dialled"])  # the recording began when the call was answered
    waited = int(timeline["admitted"] - timeline["dialled"])
    before = heard[int(max(0, 1 - start) * rate):int((waited - 1) * rate)]
    after = heard[int((waited + 3) * rate):int((waited + 8) * rate)]
    from peers import tone_share_db
    assert len(before) > 3 * rate and tone_share_db(before, rate, 2500) < -25, f"nothing of the meeting while waiting: {tone_share_db(before, rate, 2500):.1f} dB"
    assert tone_share_db(after, rate, 2500) > -6, f"the meeting once admitted: {tone_share_db(after, rate, 2500):.1f} dB"


def test_chat_public_private_locked_limited_and_forgotten(server):
    client = BigBlueButton(api_url(server), SECRET)
    client.create_meeting("seminar", params={"name": "Seminar", "attendeePW": "ap", "moderatorPW": "mp"})
    teacher = token_from_join_url(server, client.get_join_meeting_url("Teacher", "seminar", "mp"))
    anna = token_from_join_url(server, client.get_join_meeting_url("Anna", "seminar", "ap", {"userID": "anna"}))
    ben = token_from_join_url(server, client.get_join_meeting_url("Ben", "seminar", "ap", {"userID": "ben"}))

    async def scenario():
        async with Browser(server, teacher) as t, Browser(server, anna) as a, Browser(server, ben) as b:
            injection = '<img src=x onerror="alert(1)"> & hello'
            await a.send({"type": "chat", "text": injection})
            for reader in (t, a, b):
                message = await reader.next("chat")
                assert message["text"] == injection and message["fromName"] == "Anna" and "to" not in message
            # Private: the recipient and the sender see it, nobody else.
            await a.send({"type": "chat", "text": "just for you", "to": t.answer["memberId"]})
            assert (await t.next("chat"))["text"] == "just for you"
            assert (await a.next("chat"))["to"] == t.answer["memberId"]
            with pytest.raises(AssertionError):
                await b.next("chat", timeout=1)
            # Limits: size, rate, and ids from elsewhere.
            await b.send({"type": "chat", "text": "x" * 3000})
            assert "at most 2000" in (await b.next("error"))["message"]
            await b.send({"type": "chat", "text": "hi", "to": 999_999})
            assert (await b.next("error"))["message"] == "no such participant"
            for i in range(8):
                await b.send({"type": "chat", "text": f"spam {i}"})
            errors = []
            end = time.time() + 2
            while time.time() < end:
                try:
                    m = json.loads(await asyncio.wait_for(b.ws.recv(), 0.3))
                except asyncio.TimeoutError:
                    continue
                if m["type"] == "error":
                    errors.append(m["message"])
            assert any("too many messages" in e for e in errors), errors
            # Lock: viewers may not chat publicly, nor privately except to moderators.
            await t.send({"type": "lock", "publicChat": True, "privateChat": True})
            await a.next("lock")
            await a.send({"type": "chat", "text": "may I?"})
            assert (await a.next("error"))["message"] == "public chat is locked"
            await a.send({"type": "chat", "text": "psst", "to": b.answer["memberId"]})
            assert (await a.next("error"))["message"] == "private chat is locked"
            await a.send({"type": "chat", "text": "question", "to": t.answer["memberId"]})
            while (await t.next("chat"))["text"] != "question":  # the spam before it is still queued
                pass
            # A moderator deletes a message for everybody; a viewer may not.
            first = next(m for m in t.messages if m["type"] == "chat" and m["text"] == injection)
            await a.send({"type": "chat-delete", "messageId": first["id"]})
            assert (await a.next("error"))["message"] == "not allowed to delete messages"
            await t.send({"type": "chat-delete", "messageId": first["id"]})
            assert (await b.next("chat-deleted"))["id"] == first["id"], "deleted for everybody"
        # A late joiner sees the history: public messages and its own private ones only.
        async with Browser(server, teacher) as t2:
            texts = [m["text"] for m in t2.answer["chat"]]
            assert injection not in texts and "just for you" not in texts and "spam 0" in texts

    asyncio.run(scenario())
    client.end_meeting("seminar", "mp")
    client.create_meeting("seminar", params={"name": "Seminar", "attendeePW": "ap", "moderatorPW": "mp"})
    fresh = token_from_join_url(server, client.get_join_meeting_url("Teacher", "seminar", "mp"))

    async def after():
        async with Browser(server, fresh) as t:
            assert t.answer["chat"] == [], "an ended meeting's chat is gone"

    asyncio.run(after())


def test_meetings_end_when_empty_or_when_nobody_came():
    server = Server(api_secret=SECRET, extra={"meetings": {"endWhenEmptySeconds": 2, "endWhenNobodyJoinedSeconds": 3}})
    try:
        assert call(server, "create", "name=Left&meetingID=left").findtext("returncode") == "SUCCESS"
        assert call(server, "create", "name=Nobody&meetingID=nobody").findtext("returncode") == "SUCCESS"
        redirect = call(server, "join", "fullName=A&meetingID=left&role=VIEWER&redirect=false")
        token = urllib.parse.parse_qs(urllib.parse.urlparse(redirect.findtext("url")).query)["token"][0]

        async def visit():
            async with Browser(server, token) as b:
                assert call(server, "isMeetingRunning", "meetingID=left").findtext("running") == "true"

        asyncio.run(visit())
        assert call(server, "getMeetingInfo", "meetingID=left").findtext("returncode") == "SUCCESS", "not at once"
        for meeting in ("left", "nobody"):
            wait_until(lambda: call(server, "getMeetingInfo", f"meetingID={meeting}").findtext("messageKey") == "notFound", 10,
                       f"{meeting} ends by itself")
        assert "reason=empty" in server.log_text() and "reason=nobody joined" in server.log_text()
    finally:
        assert server.stop()
