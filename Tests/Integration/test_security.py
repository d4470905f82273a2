"""The holes an attacker's probe found (issue 11), each closed and held closed against real peers: the
BigBlueButton API client from PyPI, aiortc browsers over the real WebSocket, and a SIP caller on a raw
socket (for what a softphone will not do on purpose)."""
import asyncio
import json
import re
import socket
import ssl
import time
import urllib.parse
import urllib.request

import pytest

from peers import PHONE_IP, SERVER_IP, Server, wait_until
from sipraw import RawCall
from test_meetings import SECRET, Browser, api_url, call, token_from_join_url

bbb = pytest.importorskip("bigbluebutton_api_python")
websockets = pytest.importorskip("websockets")
from bigbluebutton_api_python import BigBlueButton  # noqa: E402


@pytest.fixture
def api_server():
    import os
    s = Server(api_secret=SECRET, sip_extra={"mediaTimeoutSeconds": 3, "maxCallsPerSource": 2},
               extra={"publicURL": "https://meet.example.org/"})
    os.environ["SSL_CERT_FILE"] = str(s.ssl_context_file())
    yield s
    os.environ.pop("SSL_CERT_FILE", None)
    assert s.alive(), "the server must survive every test"
    assert s.stop()


async def join_refused(server, token: str) -> dict:
    """Joins with `token` and returns the server's first reply, which must be an error."""
    from aiortc import RTCConfiguration, RTCPeerConnection
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver("audio", direction="sendrecv")
    await pc.setLocalDescription(await pc.createOffer())
    async with websockets.connect(server.ws_url, ssl=server.ssl_context()) as ws:
        await ws.send(json.dumps({"type": "join", "token": token, "name": "Mallory", "sdp": pc.localDescription.sdp}))
        reply = json.loads(await asyncio.wait_for(ws.recv(), 5))
    await pc.close()
    return reply


def test_a_meeting_is_not_entered_by_its_voice_bridge_alone(api_server):
    client = BigBlueButton(api_url(api_server), SECRET)
    client.create_meeting("closed", params={"name": "Closed meeting", "attendeePW": "ap", "moderatorPW": "mp",
                                            "voiceBridge": "22233", "guestPolicy": "ALWAYS_DENY"})
    # The join page's token endpoint knows configured rooms only: a running meeting's number is
    # answered exactly like a number that does not exist, so it neither opens nor reveals the meeting.
    status, body = api_server.request_token("22233")
    unknown_status, unknown_body = api_server.request_token("22299")
    assert (status, body) == (unknown_status, unknown_body) == (404, body), body
    assert "Closed meeting" not in json.dumps(body)
    # A configured room still works as before.
    assert api_server.request_token("3001")[0] == 200


def test_a_token_does_not_outlive_its_meeting(api_server):
    client = BigBlueButton(api_url(api_server), SECRET)
    client.create_meeting("reuse", params={"name": "Reuse", "attendeePW": "ap", "moderatorPW": "mp", "voiceBridge": "44444"})
    old = token_from_join_url(api_server, client.get_join_meeting_url("Old moderator", "reuse", "mp"))
    client.end_meeting("reuse", "mp")
    client.create_meeting("reuse", params={"name": "Reuse", "attendeePW": "ap", "moderatorPW": "mp", "voiceBridge": "55555"})
    client.create_meeting("victim", params={"name": "Victim meeting", "attendeePW": "ap2", "moderatorPW": "mp2",
                                            "voiceBridge": "44444"})
    fresh = token_from_join_url(api_server, client.get_join_meeting_url("Victim moderator", "victim", "mp2"))

    async def scenario():
        async with Browser(api_server, fresh) as victim:
            reply = await join_refused(api_server, old)
            assert reply["type"] == "error", reply
            # Nobody new is in the victim's meeting, and nobody was muted or removed.
            info = client.get_meeting_info("victim")
            assert [a.get_fullname() for a in info.get_attendees()] == ["Victim moderator"]
            assert not any(m["type"] in ("removed", "meeting-ended") for m in victim.messages)
        # Nor does the old token enter the meeting that took its ID again.
        reply = await join_refused(api_server, old)
        assert reply["type"] == "error", reply

    asyncio.run(scenario())


def test_join_xml_links_to_the_public_url_and_https_is_strict(api_server):
    query = "fullName=Ada&meetingID=m1&role=MODERATOR&redirect=false"
    call(api_server, "create", "meetingID=m1&name=M1")
    # Whatever Host the client claims, the link is the configured public URL.
    import hashlib
    checksum = hashlib.sha256(("join" + query + SECRET).encode()).hexdigest()
    request = urllib.request.Request(f"{api_url(api_server)}join?{query}&checksum={checksum}",
                                     headers={"Host": "evil.example"})
    with urllib.request.urlopen(request, context=api_server.ssl_context(), timeout=5) as response:
        assert response.headers["Strict-Transport-Security"].startswith("max-age=")
        text = response.read().decode()
    url = re.search(r"<url>([^<]+)</url>", text).group(1)
    assert url.startswith("https://meet.example.org/?token="), url
    assert "evil.example" not in text


def test_display_names_lose_control_and_direction_characters(api_server):
    token = api_server.token("3001")

    async def scenario():
        from aiortc import RTCConfiguration, RTCPeerConnection
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pc.addTransceiver("audio", direction="sendrecv")
        await pc.setLocalDescription(await pc.createOffer())
        async with websockets.connect(api_server.ws_url, ssl=api_server.ssl_context()) as ws:
            await ws.send(json.dumps({"type": "join", "token": token, "name": "\u0000Ev\u0007e\u202egpj.exe\u200b ",
                                      "sdp": pc.localDescription.sdp}))
            answer = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert answer["type"] == "answer", answer
            names = [p["name"] for p in answer["participants"]]
            assert names == ["Evegpj.exe"], names
        await pc.close()

    asyncio.run(scenario())


def test_media_goes_only_where_media_came_from(api_server):
    # A listener standing in for a third party whose address the INVITE names.
    victim = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    victim.bind((PHONE_IP, 0))
    victim.settimeout(0.05)
    caller = RawCall(api_server.sip_port)
    try:
        assert caller.invite(caller.sdp(address=PHONE_IP, port=victim.getsockname()[1])) == 200
        # Until the caller sends media, the server sends none anywhere; once it does, media goes back
        # to where it came from (symmetric RTP), never to the address the SDP named.
        caller.rtp.settimeout(0.05)
        received_back = 0
        end = time.time() + 10
        sequence = 1
        while time.time() < end and received_back < 10:
            caller.send_rtp(1, sequence)
            sequence += 1
            try:
                caller.rtp.recv(2048)
                received_back += 1
            except socket.timeout:
                pass
        assert received_back >= 10, "media comes back to the caller's source address"
        with pytest.raises(socket.timeout):
            victim.recv(2048)
    finally:
        caller.close()
        victim.close()


@pytest.mark.parametrize("address,port", [
    ("255.255.255.255", None), ("224.0.0.1", None), ("phone.invalid-host.example", None),
    (None, 65536), (None, 99999999999),
])
def test_offers_naming_no_unicast_destination_are_refused(api_server, address, port):
    caller = RawCall(api_server.sip_port)
    try:
        assert caller.invite(caller.sdp(address=address, port=port)) == 488
    finally:
        caller.close()
    assert api_server.alive()


def test_a_silent_call_is_hung_up_and_calls_per_source_are_bounded(api_server):
    first, second, third = (RawCall(api_server.sip_port) for _ in range(3))
    try:
        assert first.invite(first.sdp()) == 200
        assert second.invite(second.sdp()) == 200
        # maxCallsPerSource is 2: the third call from the same address waits its turn.
        assert third.invite(third.sdp()) == 503
        assert "calls refused: per-source limit" in api_server.log_text()
        # The first caller keeps sending, the second goes silent as a crashed phone would: after
        # mediaTimeoutSeconds (3 s) the server ends the silent call with a BYE, not the other one.
        first.send_rtp(1)
        end = time.time() + 15
        sequence = 2
        while time.time() < end and second.byes == 0:
            first.send_rtp(1, sequence)
            sequence += 1
            second.receive(0.02)
            first.receive(0.001)
        assert second.byes == 1, "the silent call was hung up"
        assert first.byes == 0, "the call that sends media stays"
        # Its place is free again (a new call: the refused one's Call-ID is spent).
        fourth = RawCall(api_server.sip_port)
        try:
            assert fourth.invite(fourth.sdp()) == 200
        finally:
            fourth.close()
    finally:
        for c in (first, second, third):
            c.close()


def test_the_default_log_holds_no_numbers_or_addresses():
    server = Server(log_level="info", sip_extra={"callsPerSourcePer10Seconds": 1})
    try:
        caller = RawCall(server.sip_port, caller="+4915112345678", display="+4915112345678")
        assert caller.invite(caller.sdp()) == 200
        # A second call within 10 s gets the source banned: a line about the source, without its address.
        flood = RawCall(server.sip_port)
        flood.invite(flood.sdp())
        end = time.time() + 5
        while time.time() < end and "source banned" not in server.log_text():
            time.sleep(0.05)
        log = server.log_text()
        assert "source banned" in log
        assert "4915112345678" not in log and "12345678" not in log
        if PHONE_IP != SERVER_IP:  # on plain loopback the server's own address is the caller's
            assert PHONE_IP not in log, [line for line in log.splitlines() if PHONE_IP in line][:3]
        caller.close()
        flood.close()
    finally:
        assert server.alive()
        assert server.stop()


@pytest.fixture
def http_server():
    s = Server(extra={"httpLimits": {"idleSeconds": 2, "writeIdleSeconds": 3, "maxConnectionsPerAddress": 5,
                                     "joinTimeoutSeconds": 4}})
    yield s
    assert s.alive(), "the server must survive every test"
    assert s.stop()


def tls_socket(server):
    raw = socket.create_connection((SERVER_IP, server.http_port), timeout=10)
    return server.ssl_context().wrap_socket(raw, server_hostname=SERVER_IP)


def closed_within(sock, seconds: float) -> bool:
    """Whether the server closes `sock` (EOF or reset) within `seconds`, reading whatever it says."""
    sock.settimeout(seconds)
    end = time.time() + seconds
    try:
        while time.time() < end:
            if not sock.recv(65536):
                return True
    except (ConnectionResetError, OSError) as error:
        return not isinstance(error, socket.timeout)
    return False


def test_http_bounds_headers_slow_and_idle_connections(http_server):
    # Headers past the limit are answered (431) and the connection closed, on the first request too.
    with tls_socket(http_server) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 90_000 + b"\r\n\r\n")
        s.settimeout(5)
        assert s.recv(4096).startswith(b"HTTP/1.1 431"), "headers too large"
        assert closed_within(s, 5)
    # A connection that never completes its request (one header byte a second) is closed after
    # writeIdleSeconds (3 s), and so is one that sends nothing.
    with tls_socket(http_server) as slow, tls_socket(http_server) as silent:
        slow.sendall(b"GET /health HTTP/1.1\r\n")
        end = time.time() + 10
        closed = False
        while time.time() < end and not closed:
            try:
                slow.sendall(b"X")
            except OSError:
                closed = True
                break
            closed = closed_within(slow, 1)
        assert closed, "slowloris is cut off"
        assert closed_within(silent, 6)
    # A keep-alive connection idle after its response closes after idleSeconds (2 s).
    with tls_socket(http_server) as idle:
        idle.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        idle.settimeout(5)
        assert idle.recv(4096).startswith(b"HTTP/1.1 200")
        assert closed_within(idle, 6)
    assert http_server.request_token("3001")[0] == 200, "the server still serves"


def test_http_connections_per_address_are_capped_and_plain_http_is_redirected(http_server):
    held = [tls_socket(http_server) for _ in range(5)]
    try:
        # The sixth from the same address is closed at once; TLS never completes.
        with pytest.raises((ssl.SSLError, ConnectionResetError, OSError)):
            extra = tls_socket(http_server)
            extra.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            if not extra.recv(4096):
                raise ConnectionResetError("closed")
        held.pop().close()
        deadline = time.time() + 5
        while True:  # the freed place is usable as soon as the server has seen the close
            try:
                assert http_server.request_token("3001")[0] == 200
                break
            except (OSError, AssertionError):
                if time.time() > deadline:
                    raise
                time.sleep(0.05)
    finally:
        for s in held:
            s.close()
    # Plain http:// to the HTTPS port gets a redirect, not an empty reply.
    with socket.create_connection((SERVER_IP, http_server.http_port), timeout=5) as plain:
        plain.sendall(f"GET /?room=3001 HTTP/1.1\r\nHost: {SERVER_IP}:{http_server.http_port}\r\n\r\n".encode())
        answer = plain.recv(4096).decode()
    assert answer.startswith("HTTP/1.1 301"), answer
    assert f"Location: https://{SERVER_IP}:{http_server.http_port}/?room=3001" in answer
    refused = [line for line in http_server.log_text().splitlines() if "connections refused: too many open" in line]
    assert refused and SERVER_IP not in refused[0], refused


def test_a_callers_host_name_is_never_resolved_and_sip_goes_on(api_server):
    # The Contact names a host that cannot be resolved here (the namespace has no name server): the
    # server's BYE must still reach the caller, at the address the INVITE came from, and other calls
    # must be answered meanwhile (sofia used to resolve the name and spin).
    caller = RawCall(api_server.sip_port, contact_host="phone.invalid-host.example")
    other = RawCall(api_server.sip_port)
    try:
        assert caller.invite(caller.sdp()) == 200
        assert caller.wait_for_bye(15), "the BYE (media timeout) went to the source address"
        assert other.invite(other.sdp()) == 200, "SIP still answers"
    finally:
        caller.close()
        other.close()


def test_options_are_answered_and_a_flood_is_refused_per_source(api_server):
    flooder = RawCall(api_server.sip_port)
    try:
        statuses = flooder.options(200)
        assert statuses[:20] == [200] * 20, "keep-alives are answered"
        assert statuses[20:40] == [503] * 20, "past its budget a source is refused"
        # Then the kernel drops the source (a socket filter): sofia keeps no transaction per request.
        # (What was queued on the socket before the filter went on is still read and answered.)
        wait_until(lambda: "source dropped: flooding" in api_server.log_text(), 5, "the drop is logged")
        assert flooder.options(1) == [], "nothing more reaches sofia from the flooder"
    finally:
        flooder.close()
    # Another source is not affected (the guard is per address): a call from it is answered.
    import os
    other_ip = os.environ.get("PLENUM_TEST_SERVER_IP", PHONE_IP)
    call = RawCall(api_server.sip_port, local_ip=other_ip)
    try:
        assert call.options(1) == [200]
        assert call.invite(call.sdp()) == 200
    finally:
        call.close()


def test_registrations_are_refused_within_the_same_budget(api_server):
    flooder = RawCall(api_server.sip_port)
    try:
        statuses = flooder.requests("REGISTER", 60)
        assert statuses[:20] == [403] * 20, "Plenum is no registrar: REGISTER is refused"
        assert statuses[20:40] == [503] * 20, "a REGISTER flood spends the source's budget like OPTIONS"
        wait_until(lambda: "source dropped: flooding" in api_server.log_text(), 5, "the drop is logged")
    finally:
        flooder.close()


def test_a_websocket_that_never_joins_is_closed_and_one_that_joined_stays(http_server):
    async def scenario():
        from aiortc import RTCConfiguration, RTCPeerConnection
        async with websockets.connect(http_server.ws_url, ssl=http_server.ssl_context()) as idle:
            start = time.time()
            with pytest.raises(websockets.exceptions.ConnectionClosed):
                while time.time() - start < 15:
                    await asyncio.wait_for(idle.recv(), 15)
            waited = time.time() - start
            assert 3 <= waited < 12, waited
        # A joined browser outlives the join timeout and the write-idle time (the server pings it).
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pc.addTransceiver("audio", direction="sendrecv")
        await pc.setLocalDescription(await pc.createOffer())
        async with websockets.connect(http_server.ws_url, ssl=http_server.ssl_context()) as ws:
            await ws.send(json.dumps({"type": "join", "token": http_server.token("3001"), "name": "Ada",
                                      "sdp": pc.localDescription.sdp}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "answer"
            await asyncio.sleep(7)
            await ws.send(json.dumps({"type": "hand", "raised": True}))
            reply = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert reply["type"] != "error", reply
        await pc.close()

    asyncio.run(scenario())


def upgraded_silent_websocket(server):
    """A TLS connection upgraded to a WebSocket that never joins."""
    sock = tls_socket(server)
    sock.sendall((f"GET /ws HTTP/1.1\r\nHost: {SERVER_IP}:{server.http_port}\r\nUpgrade: websocket\r\n"
                  "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                  "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    assert b" 101 " in sock.recv(4096)
    return sock


def test_when_every_connection_is_taken_a_newcomer_replaces_one_that_never_joined():
    # Four connections in all: silent WebSockets fill them, yet a browser still gets in and joins,
    # and a joined browser is never the one replaced.
    server = Server(extra={"httpLimits": {"maxConnections": 4, "maxConnectionsPerAddress": 64, "joinTimeoutSeconds": 60}})

    async def scenario():
        from aiortc import RTCConfiguration, RTCPeerConnection
        silent = [upgraded_silent_websocket(server) for _ in range(4)]
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pc.addTransceiver("audio", direction="sendrecv")
        await pc.setLocalDescription(await pc.createOffer())
        token = server.token("3001")  # an HTTP request: itself a newcomer that replaces a silent one
        async with websockets.connect(server.ws_url, ssl=server.ssl_context()) as ws:
            await ws.send(json.dumps({"type": "join", "token": token, "name": "Ada", "sdp": pc.localDescription.sdp}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "answer"
            assert closed_within(silent[0], 5), "the oldest silent connection made room"
            # More silent ones come: each replaces another silent one, never the joined browser.
            silent += [upgraded_silent_websocket(server) for _ in range(6)]
            await ws.send(json.dumps({"type": "hand", "raised": True}))
            reply = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert reply["type"] != "error", reply
        await pc.close()
        for sock in silent:
            sock.close()
        wait_until(lambda: "connections evicted: all slots taken" in server.log_text(), 5, "evictions are logged")

    try:
        asyncio.run(scenario())
    finally:
        assert server.alive()
        assert server.stop()


def test_new_calls_are_rate_limited_server_wide():
    # 1 new call a second, bursts of 2: the third INVITE in a row is refused, and calls in progress stay.
    server = Server(sip_extra={"maxNewCallsPerSecond": 1})
    calls = [RawCall(server.sip_port) for _ in range(3)]
    try:
        assert [c.invite(c.sdp()) for c in calls] == [200, 200, 503]
        assert "calls refused: new-call rate" in server.log_text()
    finally:
        for c in calls:
            c.close()
        assert server.alive()
        assert server.stop()
