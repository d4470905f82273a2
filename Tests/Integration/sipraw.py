"""A SIP caller over a plain UDP socket, for what a softphone will not do on purpose: an SDP that names
another host, a call that goes silent without BYE, many calls from one address. Speaks just enough of
RFC 3261 (INVITE, ACK for 2xx, answering the server's BYE) and sends RTP from its own media socket."""
import re
import socket
import struct
import time

from peers import PHONE_IP, SERVER_IP


class RawCall:
    _next_port = 6100

    def __init__(self, server_port: int, room: str = "3001", caller: str = "+4915112345678",
                 display: str | None = None, local_ip: str = PHONE_IP, contact_host: str | None = None):
        RawCall._next_port += 4
        self.server_port, self.room, self.caller, self.display = server_port, room, caller, display
        self.local_ip = local_ip
        self.contact_host = contact_host
        self.sip = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sip.bind((local_ip, RawCall._next_port))
        self.sip_port = self.sip.getsockname()[1]
        self.rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rtp.bind((local_ip, 0))
        self.rtp_port = self.rtp.getsockname()[1]
        self.call_id = f"raw-{time.time_ns()}@{local_ip}"
        self.from_tag = f"f{time.time_ns() % 100000}"
        self.to_tag = ""
        self.contact = f"sip:{room}@{SERVER_IP}:{server_port}"
        self.remote_rtp: tuple[str, int] | None = None
        self.status = 0
        self.byes = 0

    def sdp(self, address: str | None = None, port: int | None = None, direction: str = "sendrecv") -> str:
        address = address or self.local_ip
        return (f"v=0\r\no=- 1 1 IN IP4 {self.local_ip}\r\ns=-\r\nc=IN IP4 {address}\r\nt=0 0\r\n"
                f"m=audio {port if port is not None else self.rtp_port} RTP/AVP 0\r\n"
                f"a=rtpmap:0 PCMU/8000\r\na={direction}\r\n")

    def _send(self, text: str):
        self.sip.sendto(text.encode(), (SERVER_IP, self.server_port))

    def _headers(self, method: str, cseq: int, uri: str, branch: str) -> str:
        name = f'"{self.display}" ' if self.display is not None else ""
        to_tag = f";tag={self.to_tag}" if self.to_tag else ""
        return (f"{method} {uri} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP {self.local_ip}:{self.sip_port};rport;branch=z9hG4bK{branch}\r\n"
                f"Max-Forwards: 70\r\nFrom: {name}<sip:{self.caller}@{self.local_ip}>;tag={self.from_tag}\r\n"
                f"To: <sip:{self.room}@{SERVER_IP}>{to_tag}\r\nCall-ID: {self.call_id}\r\nCSeq: {cseq} {method}\r\n"
                f"Contact: <sip:{self.caller}@{self.contact_host or f'{self.local_ip}:{self.sip_port}'}>\r\n")

    def options(self, count: int) -> list[int]:
        """Sends `count` OPTIONS as fast as it can (each a transaction of its own); returns the statuses."""
        return self.requests("OPTIONS", count)

    def requests(self, method: str, count: int) -> list[int]:
        """Sends `count` out-of-dialog `method` requests as fast as it can; returns the statuses."""
        for i in range(count):
            self._send(self._headers(method, i + 1, f"sip:{self.room}@{SERVER_IP}:{self.server_port}", f"opt{i}-{time.time_ns()}")
                       .replace(f"Call-ID: {self.call_id}", f"Call-ID: opt{i}-{self.call_id}") + "Content-Length: 0\r\n\r\n")
        statuses = []
        end = time.time() + 5
        while len(statuses) < count and time.time() < end:
            message = self.receive(end - time.time())
            if message is None:
                break
            if message.startswith("SIP/2.0 "):
                statuses.append(int(message.split()[1]))
        return statuses

    def invite(self, sdp: str, timeout: float = 5) -> int:
        """Sends the INVITE and returns the final status (ACKing a 2xx); 0 when none came."""
        body = sdp
        self._send(self._headers("INVITE", 1, f"sip:{self.room}@{SERVER_IP}:{self.server_port}", f"inv{time.time_ns()}")
                   + f"Content-Type: application/sdp\r\nContent-Length: {len(body)}\r\n\r\n{body}")
        end = time.time() + timeout
        while time.time() < end:
            message = self.receive(end - time.time())
            if message is None:
                break
            first = message.split("\r\n", 1)[0]
            if not first.startswith("SIP/2.0 "):
                continue
            status = int(first.split()[1])
            if status < 200:
                continue
            self.status = status
            if 200 <= status < 300:
                self.to_tag = re.search(r"^To:.*;tag=([^;\r\n]+)", message, re.M | re.I).group(1)
                contact = re.search(r"^(?:Contact|m):\s*<([^>]+)>", message, re.M | re.I)
                if contact:
                    self.contact = contact.group(1)
                body = message.split("\r\n\r\n", 1)[1]
                address = re.search(r"c=IN IP4 (\S+)", body).group(1)
                port = int(re.search(r"m=audio (\d+)", body).group(1))
                self.remote_rtp = (address, port)
                self._send(self._headers("ACK", 1, self.contact, f"ack{time.time_ns()}") + "Content-Length: 0\r\n\r\n")
            else:
                # ACK for a non-2xx final response is part of the INVITE transaction (RFC 3261 §17.1.1.3).
                pass
            return status
        return 0

    def receive(self, timeout: float) -> str | None:
        """The next SIP message; answers a BYE with 200 (and counts it)."""
        self.sip.settimeout(max(0.01, timeout))
        try:
            data, _ = self.sip.recvfrom(65535)
        except socket.timeout:
            return None
        message = data.decode(errors="replace")
        if message.startswith("BYE "):
            self.byes += 1
            head = message.split("\r\n\r\n", 1)[0]
            keep = [line for line in head.split("\r\n")[1:]
                    if line.split(":", 1)[0].strip().lower() in ("via", "from", "to", "call-id", "cseq")]
            self.sip.sendto(("SIP/2.0 200 OK\r\n" + "\r\n".join(keep) + "\r\nContent-Length: 0\r\n\r\n").encode(),
                            (SERVER_IP, self.server_port))
        return message

    def wait_for_bye(self, timeout: float) -> bool:
        end = time.time() + timeout
        while time.time() < end and self.byes == 0:
            self.receive(min(0.5, end - time.time()))
        return self.byes > 0

    def send_rtp(self, count: int = 5, sequence: int = 1):
        """PCMU silence from this call's media socket to the server's RTP port."""
        assert self.remote_rtp, "no answer yet"
        for i in range(count):
            header = struct.pack("!BBHII", 0x80, 0, (sequence + i) & 0xFFFF, (sequence + i) * 160, 0x1234ABCD)
            self.rtp.sendto(header + b"\xff" * 160, self.remote_rtp)

    def bye(self):
        """Hangs up the established call."""
        self._send(self._headers("BYE", 2, self.contact, f"bye{time.time_ns()}") + "Content-Length: 0\r\n\r\n")

    def close(self):
        self.sip.close()
        self.rtp.close()
