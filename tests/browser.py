"""Headless Chromium from the distribution, driven over the Chrome DevTools Protocol.

The protocol runs over a pair of pipes (``--remote-debugging-pipe``: the browser reads
commands on its file descriptor 3 and writes replies on 4, each JSON message ending with
a NUL byte), so no websocket client, no port and no download are needed: only the
``chromium`` package (``apt-get install chromium``). Background networking, component
updates and sync are off; every browser gets a fresh profile.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
from typing import Any

REQUIRED = os.environ.get("DEDUP_REQUIRE_BROWSER", "") not in ("", "0") or os.environ.get("CI", "") == "true"


def chromium() -> str | None:
    """The browser's path, or None where it is not installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


class BrowserError(RuntimeError):
    """The browser answered a command with an error, or went away."""


class Browser:
    """One headless Chromium with one page; ``evaluate`` runs JavaScript in the page.

    Use: ``with Browser() as browser: browser.open(url); browser.evaluate("document.title")``.
    """

    def __init__(self, width: int = 1200, height: int = 900) -> None:
        path = chromium()
        if path is None:
            raise BrowserError("Chromium is not installed (apt-get install chromium)")
        self._profile = tempfile.mkdtemp(prefix="dedup-chromium-")
        commands_read, self._commands = os.pipe()
        self._replies, replies_write = os.pipe()
        # Above 4, so that moving them to 3 and 4 overwrites neither; a small launcher moves
        # them there and becomes the browser.
        commands_read, replies_write = (self._above_4(fd) for fd in (commands_read, replies_write))
        arguments = [
            path, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
            "--remote-debugging-pipe", f"--user-data-dir={self._profile}", f"--window-size={width},{height}",
            "about:blank",
        ]
        launcher = (
            "import os, sys; r, w = int(sys.argv[1]), int(sys.argv[2]); os.dup2(r, 3); os.dup2(w, 4); "
            "os.close(r); os.close(w); os.execv(sys.argv[3], sys.argv[3:])"
        )
        self._process = subprocess.Popen(
            [sys.executable, "-c", launcher, str(commands_read), str(replies_write), *arguments],
            pass_fds=(commands_read, replies_write),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        os.close(commands_read)
        os.close(replies_write)
        self._buffer = b""
        self._next_id = 0
        self._events: list[dict] = []
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        self._session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.send("Page.enable", session=True)
        self.send("Runtime.enable", session=True)

    @staticmethod
    def _above_4(fd: int) -> int:
        moved = fcntl.fcntl(fd, fcntl.F_DUPFD, 5)
        os.close(fd)
        return moved

    # the protocol -----------------------------------------------------------------------

    def _message(self) -> dict:
        while b"\0" not in self._buffer:
            data = os.read(self._replies, 1 << 20)
            if not data:
                raise BrowserError("Chromium closed the DevTools pipe (it ended)")
            self._buffer += data
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, session: bool = False, **params: Any) -> dict:
        """Send one command and wait for its reply; events that arrive meanwhile are kept."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self._session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._message()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self._events.append(reply)

    def wait_for_event(self, method: str) -> dict:
        """The next event ``method`` of the page (one that came already counts)."""
        while True:
            for k, event in enumerate(self._events):
                if event.get("method") == method:
                    return self._events.pop(k)
            self._events.append(self._message())

    # the page ---------------------------------------------------------------------------

    def open(self, url: str) -> None:
        """Load ``url`` afresh and wait for its load event (the page's script has run by then).

        Through an empty page first: a URL that differs from the current one only in its
        fragment would otherwise just scroll, with no new load and no event to wait for.
        """
        for address in ("about:blank", url):
            self._events.clear()
            navigated = self.send("Page.navigate", session=True, url=address)
            if "errorText" in navigated:
                raise BrowserError(f"cannot open {address}: {navigated['errorText']}")
            self.wait_for_event("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (a JSON value)."""
        result = self.send("Runtime.evaluate", session=True, expression=expression, returnByValue=True,
                           awaitPromise=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression[:80]}...: {result['exceptionDetails'].get('exception', result)}")
        return result["result"].get("value")

    def click(self, x: float, y: float) -> None:
        """A real mouse click (press and release of the left button) at viewport point (x, y)."""
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", session=True, type=kind, x=x, y=y, button="left", clickCount=1)

    def screenshot(self, path: str) -> None:
        data = self.send("Page.captureScreenshot", session=True, format="png")["data"]
        with open(path, "wb") as handle:
            handle.write(base64.b64decode(data))

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except (BrowserError, OSError):
            pass
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        for fd in (self._commands, self._replies):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
