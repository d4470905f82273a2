"""Malformed and unwanted SIP (issue 3, "Safety"): the RFC 4475 torture messages, refused methods and
a scanner; the server answers or drops each, and still serves calls afterwards."""
import socket
import time
from pathlib import Path

import pytest

from peers import PHONE_IP, ROOT, SERVER_IP, Phone, Server, tone_share_db

TORTURE = ROOT.parent / "shared" / "sip-torture"




def udp_exchange(message: bytes, port: int, wait: float = 0.5, local_port: int = 0) -> bytes:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((PHONE_IP, local_port))
        s.settimeout(wait)
        s.sendto(message, (SERVER_IP, port))
        try:
            return s.recv(65535)
        except socket.timeout:
            return b""


def request(method: str, port: int, extra: str = "", body: str = "") -> str:
    local = f"{PHONE_IP}:5999"
    message = (
        f"{method} sip:3001@{SERVER_IP}:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {local};branch=z9hG4bK-{method.lower()}-{time.time_ns()}\r\n"
        f"Max-Forwards: 70\r\nFrom: <sip:tester@{PHONE_IP}>;tag=1\r\nTo: <sip:3001@{SERVER_IP}>\r\n"
        f"Call-ID: {method.lower()}-{time.time_ns()}@{PHONE_IP}\r\nCSeq: 1 {method}\r\n"
        f"Contact: <sip:tester@{local}>\r\n{extra}Content-Length: {len(body)}\r\n\r\n{body}"
    )
    # Responses go to the Via's sent-by address (RFC 3261 §18.2.2), so listen there.
    return udp_exchange(message.encode(), port, wait=1.0, local_port=5999).decode(errors="replace")


def exchange_all(method: str, port: int, extra: str = "", body: str = "", uri_user: str = "3001") -> list[str]:
    """Every datagram the server sends back within a second (responses and any requests)."""
    local = f"{PHONE_IP}:5999"
    message = (
        f"{method} sip:{uri_user}@{SERVER_IP}:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {local};branch=z9hG4bK-{method.lower()}-{time.time_ns()}\r\n"
        f"Max-Forwards: 70\r\nFrom: <sip:tester@{PHONE_IP}>;tag=1\r\nTo: <sip:3001@{SERVER_IP}>\r\n"
        f"Call-ID: {method.lower()}-{time.time_ns()}@{PHONE_IP}\r\nCSeq: 1 {method}\r\n"
        f"Contact: <sip:tester@{local}>\r\n{extra}Content-Length: {len(body)}\r\n\r\n{body}"
    )
    answers = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((PHONE_IP, 5999))
        s.settimeout(1.0)
        s.sendto(message.encode(), (SERVER_IP, port))
        try:
            while True:
                answers.append(s.recv(65535).decode(errors="replace"))
        except socket.timeout:
            pass
    return [a for a in answers if not a.startswith("SIP/2.0 100")]


@pytest.mark.skipif(not TORTURE.exists(), reason="shared/sip-torture is not beside the repository")
def test_torture_messages_then_calls_still_work(server):
    files = sorted(TORTURE.glob("*.dat"))
    assert len(files) >= 40
    for path in files:
        udp_exchange(path.read_bytes(), server.sip_port, wait=0.05)
        assert server.alive(), f"{path.name} crashed the server"
    time.sleep(1)
    a, b = Phone(440), Phone(1000)
    a.dial(f"sip:3001@{SERVER_IP}:{server.sip_port}", 7)
    b.dial(f"sip:3001@{SERVER_IP}:{server.sip_port}", 7)
    a.wait(20)
    b.wait(20)
    heard, rate = a.heard()
    assert tone_share_db(heard[-3 * rate:], rate, 1000) > -6


def test_options_is_answered_and_unwanted_methods_are_refused(server):
    assert request("OPTIONS", server.sip_port).startswith("SIP/2.0 200")
    for method in ["MESSAGE", "REFER", "SUBSCRIBE", "PUBLISH"]:
        extra = "Event: presence\r\n" if method in ("SUBSCRIBE", "PUBLISH") else ""
        extra += f"Refer-To: <sip:evil@{PHONE_IP}>\r\n" if method == "REFER" else ""
        answers = exchange_all(method, server.sip_port, extra, "hi" if method == "MESSAGE" else "")
        assert answers, f"{method}: no answer"
        assert all(a.startswith("SIP/2.0 4") or a.startswith("SIP/2.0 5") for a in answers), \
            f"{method} must be refused, nothing else (no NOTIFY): {[a.splitlines()[0] for a in answers]}"


def test_scanners_are_refused(server):
    sdp = f"v=0\r\no=- 1 1 IN IP4 {PHONE_IP}\r\ns=-\r\nc=IN IP4 {PHONE_IP}\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
    answer = request("INVITE", server.sip_port, "User-Agent: friendly-scanner\r\nContent-Type: application/sdp\r\n", sdp)
    assert not answer.startswith("SIP/2.0 2"), answer[:80]
    time.sleep(0.5)
    assert "scanner refused" in server.log_text() and "codec=" not in server.log_text(), "no call for a scanner"
