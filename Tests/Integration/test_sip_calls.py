"""Call handling with sipp (Debian sip-tester): hold and unhold by re-INVITE, CANCEL before the answer,
refusals, and the server hanging up when the caller presses # (baresip)."""
import subprocess
import time
from pathlib import Path

import pytest

from peers import PHONE_IP, SERVER_IP, Phone, Server
from test_sip_robustness import exchange_all

SCENARIOS = Path(__file__).parent / "sipp"




def sipp(server: Server, scenario: str, service: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["sipp", f"{SERVER_IP}:{server.sip_port}", "-sf", str(SCENARIOS / scenario), "-s", service, "-m", "1",
         "-i", PHONE_IP, "-p", "5300", "-mp", "31000", "-timeout", "30s", "-timeout_error", "-nostdin",
         "-trace_err", "-error_file", "/dev/stderr"],
        capture_output=True, text=True, timeout=60)


def test_hold_and_unhold_by_reinvite(server):
    result = sipp(server, "hold.xml", "3001")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:] + server.log_text()


def test_cancel_before_the_answer(server):
    result = sipp(server, "cancel.xml", "5000")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:] + server.log_text()
    time.sleep(3.5)  # past the ringing: the cancelled call must not come back to life
    assert "why=cancelled" in server.log_text() or "why=terminated" in server.log_text()
    assert "codec=" in server.log_text() and "call statistics" not in server.log_text()


def test_refusals_have_sensible_statuses(server):
    sdp = (f"v=0\r\no=- 1 1 IN IP4 {PHONE_IP}\r\ns=-\r\nc=IN IP4 {PHONE_IP}\r\nt=0 0\r\n"
           "m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
    g729 = sdp.replace("RTP/AVP 0", "RTP/AVP 18").replace("0 PCMU/8000", "18 G729/8000")
    cases = [("5403", sdp, "403"), ("4999", sdp, "404"), ("3001", g729, "488"), ("3001", "not sdp", "488")]
    for number, body, status in cases:
        answers = exchange_all("INVITE", server.sip_port, "Content-Type: application/sdp\r\n", body, uri_user=number)
        finals = [a.split("\r\n")[0] for a in answers if a.startswith("SIP/2.0")]
        assert any(f.startswith(f"SIP/2.0 {status}") for f in finals), (number, status, finals)


def test_server_hangs_up_when_the_caller_presses_pound(server):
    a = Phone(440)
    a.dial(f"sip:3001@{SERVER_IP}:{server.sip_port}", 30)
    time.sleep(2)
    a.send_digits("#")
    assert a.wait_for_log("terminated", 5), server.log_text()
    a.stop()


def test_sighup_reloads_the_dialplan_without_dropping_calls(server):
    import json
    import signal

    a = Phone(440)
    a.dial(f"sip:3001@{SERVER_IP}:{server.sip_port}", 12)
    time.sleep(1.5)
    assert a.wait_for_log("Call established", 3)
    # A new rule: 7777 goes to room 3001.
    rule = {"context": "public", "rules": [{"name": "new", "destination": "7777",
                                            "actions": [{"action": "join", "room": "3001"}]}]}
    (server.dir / "dialplans" / "zz-new.json").write_text(json.dumps(rule))
    broken = server.dir / "dialplans" / "broken.json"
    broken.write_text("{ not json")
    server.process.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    assert "reload failed" in server.log_text(), "a broken file is reported and the running dialplan kept"
    broken.unlink()
    server.process.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    assert "dialplan reloaded" in server.log_text()
    b = Phone(1000)
    b.dial(f"sip:7777@{SERVER_IP}:{server.sip_port}", 6)
    b.wait(15)
    a.wait(20)
    heard, rate = b.heard()
    from peers import tone_share_db
    assert tone_share_db(heard[-3 * rate:], rate, 440) > -6, "the new number reaches the room, where A still is"
    assert "terminated (duration: 1" in a.log_text(), "A's call lasted its whole 12 s: " + a.log_text()[-500:]


def test_pin_by_sip_info(server):
    result = sipp(server, "info-pin.xml", "3002")
    assert result.returncode == 0, result.stdout[-2000:] + server.log_text()
    time.sleep(0.5)  # the BYE's clean-up logs the call's statistics
    log = server.log_text()
    assert "count=4 " in log or "count=4" in log, log
    assert "call statistics" in log, "the caller got into the room: " + log


def test_full_and_locked_rooms_are_busy():
    s = Server(rooms=[{"number": "3001", "maxParticipants": 1}, {"number": "3002", "locked": True}])
    try:
        first = Phone(440)
        first.dial(f"sip:3001@{SERVER_IP}:{s.sip_port}", 8)
        time.sleep(1.5)
        sdp = (f"v=0\r\no=- 1 1 IN IP4 {PHONE_IP}\r\ns=-\r\nc=IN IP4 {PHONE_IP}\r\nt=0 0\r\n"
               "m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
        for number in ["3001", "3002"]:
            answers = exchange_all("INVITE", s.sip_port, "Content-Type: application/sdp\r\n", sdp, uri_user=number)
            finals = [a.split("\r\n")[0] for a in answers]
            assert any(f.startswith("SIP/2.0 486") for f in finals), (number, finals)
        first.stop()
        assert s.alive()
    finally:
        s.stop()
