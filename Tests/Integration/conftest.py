import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from peers import Server  # noqa: E402


@pytest.fixture
def server():
    """A plenum server with the test configuration; every test must leave it alive."""
    s = Server()
    yield s
    assert s.alive(), "the server must survive every test"
    assert s.stop(), "SIGTERM stops the server within 5 s"
