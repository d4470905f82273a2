"""SIP over TLS with SRTP (SDES keys, RFC 4568) through libsrtp2; SDES over plain UDP is refused."""
import re
import time

import pytest

from peers import SERVER_IP, Phone, Server, tone_share_db


@pytest.fixture
def server():
    s = Server(tls=True)
    yield s
    assert s.alive()
    s.stop()


def test_tls_phone_with_srtp_and_a_plain_phone_hear_each_other(server):
    secure = Phone(440, transport="tls", cafile=server.certificate, srtp=True)
    plain = Phone(1000)
    secure.dial(f"sip:3001@{SERVER_IP}:{server.tls_port};transport=tls", 9)
    plain.dial(f"sip:3001@{SERVER_IP}:{server.sip_port}", 9)
    secure.wait(20)
    plain.wait(20)
    log = server.log_text()
    assert re.search(r"srtp=AES_CM_128_HMAC_SHA1_\d+ tls=true", log) or "srtp=AEAD_AES_128_GCM tls=true" in log, log
    heard, rate = secure.heard()
    assert tone_share_db(heard[-3 * rate:], rate, 1000) > -6, secure.log_text()[-2000:]
    heard, rate = plain.heard()
    assert tone_share_db(heard[-3 * rate:], rate, 440) > -6


def test_sdes_keys_over_plain_udp_are_refused(server):
    phone = Phone(440, srtp=True)
    phone.dial(f"sip:3001@{SERVER_IP}:{server.sip_port}", 4)
    phone.wait(15)
    assert "488" in phone.log_text(), phone.log_text()[-1500:]
    assert "SRTP offer refused" in server.log_text()
