"""Digest authentication (RFC 3261 §22) through sofia's auth_module: our own phones reach the
`default` context (any room by number); strangers are challenged and get nowhere."""
import pytest

from peers import SERVER_IP, Phone, Server, level_dbfs

ROOMS = [{"number": "3001"}, {"number": "4001", "name": "staff room"}]


@pytest.fixture
def server():
    s = Server(users={"alice": "s3cret"}, rooms=ROOMS)
    yield s
    assert s.alive()
    s.stop()


def test_authenticated_phone_reaches_the_default_context(server):
    # 4001 is not reachable from the public context (only 3xxx and 1000 are): a challenge, then in.
    alice = Phone(440, name="alice", password="s3cret")
    alice.dial(f"sip:4001@{SERVER_IP}:{server.sip_port}", 6)
    alice.wait(20)
    log = server.log_text()
    assert "context=default" in log and "user=alice" in log, log
    assert "Call established" in alice.log_text()
    heard, rate = alice.heard()
    assert level_dbfs(heard[: 3 * rate]) > -40, "alone in the staff room: conf-alone"


def test_wrong_password_and_no_password_get_nowhere(server):
    mallory = Phone(440, name="alice", password="guess")
    stranger = Phone(440, name="bob")
    mallory.dial(f"sip:4001@{SERVER_IP}:{server.sip_port}", 5)
    stranger.dial(f"sip:4001@{SERVER_IP}:{server.sip_port}", 5)
    mallory.wait(15)
    stranger.wait(15)
    assert "Call established" not in mallory.log_text()
    assert "Call established" not in stranger.log_text()
    assert "context=default" not in server.log_text()
