"""Screenshots of the web client's refusals for people to look at (not a test): the join page after too
many wrong PINs, and a waiting guest whose request was refused, at 1280 and 360 px, in English and
German. Run inside the test namespace: scripts/in-netns.sh python3 Tests/Integration/screenshots.py;
the pictures land in Tests/Integration/screenshots/."""
import asyncio
import urllib.parse

from peers import Chromium, Server
from test_meetings import Browser
from test_web_client import SCREENSHOTS, api


def main():
    SCREENSHOTS.mkdir(exist_ok=True)
    server = Server()
    try:
        api(server, "create", "name=Office+hours&meetingID=office&guestPolicy=ASK_MODERATOR")

        def token(query: str) -> str:
            url = api(server, "join", query + "&redirect=false").split("<url>")[1].split("</url>")[0].replace("&amp;", "&")
            return urllib.parse.parse_qs(urllib.parse.urlparse(url).query)["token"][0]

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

                    async def waiting():
                        async with Browser(server, token("fullName=Host&meetingID=office&role=MODERATOR")) as host:
                            guest = token(f"fullName=Guest+{language}&meetingID=office&role=VIEWER")
                            chromium.call("open", url=f"{server.base_url}/?lang={language}&token={guest}")
                            chromium.wait_for("document.readyState === 'complete'", 10)
                            chromium.call("click", css="#join-mic")
                            chromium.wait_for("document.getElementById('status').dataset.state === 'statusWaiting'", 15)
                            chromium.call("click", css="#mute")
                            chromium.wait_for("!document.getElementById('toast').hidden", 5)
                            chromium.call("screenshot", path=str(SCREENSHOTS / f"waiting-refused-{language}-{width}.png"))
                            chromium.call("click", css="#leave")
                            await host.next("guests", 5)

                    asyncio.run(waiting())
                finally:
                    chromium.close()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
