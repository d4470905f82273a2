"""Phones dial in over SIP (issue 3): real baresip phones, audio checked by frequency."""
import re
import time

import pytest

from peers import SERVER_IP, Phone, Server, level_dbfs, tone_share_db, wait_until




def test_two_phones_hear_each_other_and_not_themselves(server):
    a = Phone(440, codec="PCMU")
    b = Phone(1000, codec="opus")
    a.dial(f"sip:3001@{SERVER_IP}:{server.sip_port}", 10)
    time.sleep(1)
    b.dial(f"sip:3001@{SERVER_IP}:{server.sip_port}", 9)
    a.wait(20)
    b.wait(20)
    heard_a, rate_a = a.heard()
    heard_b, rate_b = b.heard()
    # The last 5 seconds: both in the room, "you are alone" long over.
    tail_a = heard_a[-5 * rate_a:]
    tail_b = heard_b[-5 * rate_b:]
    assert tone_share_db(tail_a, rate_a, 1000) > -6, "the PCMU phone hears the Opus phone's 1 kHz"
    assert tone_share_db(tail_a, rate_a, 440) < -30, "and not its own 440 Hz"
    assert tone_share_db(tail_b, rate_b, 440) > -6, "the Opus phone hears the PCMU phone's 440 Hz"
    assert tone_share_db(tail_b, rate_b, 1000) < -30, "and not its own 1 kHz"
    assert "codec=pcmu" in server.log_text() and "codec=opus" in server.log_text()
    # RTCP both ways on the RTP port + 1: baresip's reports arrive, ours go out every 5 s.
    import re
    time.sleep(0.5)
    stats = re.findall(r"rtcp_received=(\d+) rtcp_sent=(\d+)", server.log_text())
    assert len(stats) == 2 and all(int(r) > 0 and int(s) > 0 for r, s in stats), server.log_text()


def test_alone_in_the_room_hears_the_announcement(server):
    a = Phone(440)
    a.dial(f"sip:3001@{SERVER_IP}:{server.sip_port}", 5)
    a.wait(15)
    heard, rate = a.heard()
    assert level_dbfs(heard[: 3 * rate]) > -40, "conf-alone is audible"


def test_pin_by_rfc4733_dtmf_lets_the_caller_in(server):
    a = Phone(440, codec="PCMU")
    b = Phone(1000, codec="G722/16000/1")
    a.dial(f"sip:3002@{SERVER_IP}:{server.sip_port}", 14)
    time.sleep(1.5)
    a.send_digits("2468#")
    time.sleep(1)
    b.dial(f"sip:3002@{SERVER_IP}:{server.sip_port}", 11)
    time.sleep(1.5)
    b.send_digits("2468#")
    a.wait(25)
    b.wait(25)
    heard_a, rate_a = a.heard()
    heard_b, rate_b = b.heard()
    assert tone_share_db(heard_a[-4 * rate_a:], rate_a, 1000) > -6, server.log_text()
    assert tone_share_db(heard_b[-4 * rate_b:], rate_b, 440) > -6, server.log_text()
    assert tone_share_db(heard_b[-4 * rate_b:], rate_b, 1000) < -30
    assert "codec=g722" in server.log_text()


def test_wrong_pin_three_times_hangs_up(server):
    a = Phone(440)
    a.dial(f"sip:3002@{SERVER_IP}:{server.sip_port}", 60)
    time.sleep(1.5)
    for _ in range(3):
        a.send_digits("1111#")
        time.sleep(4)
    # After the third wrong PIN: the bad-PIN prompt, then the server's BYE (the phone would stay 60 s).
    assert a.wait_for_log("terminated", 10), server.log_text()
    a.stop()
    assert "attempt=3" in server.log_text()
    heard, rate = a.heard()
    assert level_dbfs(heard) > -45, "prompts were audible"


def test_unknown_room_is_refused(server):
    a = Phone(440)
    a.dial(f"sip:4999@{SERVER_IP}:{server.sip_port}", 5)
    a.wait(15)
    assert "404" in a.log_text()


def test_tcp_transport(server):
    a = Phone(440, transport="tcp")
    b = Phone(1000)
    a.dial(f"sip:3001@{SERVER_IP}:{server.sip_port};transport=tcp", 8)
    b.dial(f"sip:3001@{SERVER_IP}:{server.sip_port}", 8)
    a.wait(20)
    b.wait(20)
    heard, rate = a.heard()
    assert tone_share_db(heard[-3 * rate:], rate, 1000) > -6, a.log_text()[-1500:]


def test_digits_typed_by_rfc4733_leave_no_loss_and_no_delay(server):
    # Issue 13: dial the dial-in number, type the room and # (RFC 4733 events on the audio's own
    # sequence numbers): the call then carries no "lost" packets and no extra jitter-buffer delay, like
    # a call dialled straight to the room (it was lost=11, jitter_buffer_ms≈130).
    b = Phone(1000)
    b.dial(f"sip:3001@{SERVER_IP}:{server.sip_port}", 14)
    a = Phone(440)
    a.dial(f"sip:1000@{SERVER_IP}:{server.sip_port}", 12)
    assert a.wait_for_log("Call established", 5), a.log_text()
    # Keys pressed during the welcome are not an answer: type once the room's number is asked for.
    wait_until(lambda: "into=room" in server.log_text(), 10, "the dial-in number asks for the room")
    a.send_digits("3001#")
    a.wait(25)
    b.wait(25)
    wait_until(lambda: server.log_text().count("call statistics") == 2, 10, "both calls ended in the room")
    heard, rate = a.heard()
    assert tone_share_db(heard[-3 * rate:], rate, 1000) > -6, "A typed its way into B's room"
    for line in [l for l in server.log_text().splitlines() if "call statistics" in l]:
        lost = int(re.search(r"lost=(\d+)", line).group(1))
        delay = float(re.search(r"jitter_buffer_ms=([\d.]+)", line).group(1))
        assert lost == 0 and delay < 45, line
