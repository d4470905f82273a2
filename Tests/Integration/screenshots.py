"""Screenshots of the web client's refusals for people to look at (not a test): the join page after too
many wrong PINs, at 1280 and 360 px, in English and German (the room, the dialogs and the waiting
screen are taken by test_client_layout.py). Run inside the test namespace:
scripts/in-netns.sh python3 Tests/Integration/screenshots.py; the pictures land in Tests/Integration/screenshots/."""

from peers import Chromium, Server
from test_web_client import SCREENSHOTS


def main():
    SCREENSHOTS.mkdir(exist_ok=True)
    server = Server()
    try:
        for width, height in [(1280, 800), (360, 740)]:
            for language in ["en", "de"]:
                chromium = Chromium(server)
                try:
                    chromium.call("size", width=width, height=height)
                    chromium.call("open", url=f"{server.base_url}/?room=3002&lang={language}")
                    chromium.wait_for("document.readyState === 'complete'", 10)
                    chromium.call("type", css="#name", text="Mallory")
                    chromium.call("type", css="#pin", text="0000")
                    for _ in range(8):
                        chromium.call("click", css="#join-listen")
                        chromium.wait_for("document.getElementById('join-message').innerText", 5)
                    chromium.wait_for("/\\d+/.test(document.getElementById('join-message').innerText)", 5, "retry-after")
                    chromium.call("screenshot", path=str(SCREENSHOTS / f"too-many-attempts-{language}-{width}.png"))

                finally:
                    chromium.close()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
