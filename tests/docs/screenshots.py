"""Screenshots of the built site (``nox -s screenshots``), for a person to look at.

Serves ``site/`` on a loopback port and has headless Chromium (Debian's ``chromium`` package:
``apt-get install chromium``) photograph the home page and one reference page into
``site-screenshots/`` (gitignored). Run ``mkdocs build`` first; the nox session does.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGES = {"home": "", "reference-client": "reference/client/"}
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def _chromium() -> str:
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    sys.exit("headless Chromium is needed: apt-get install -y chromium")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--site", type=Path, default=ROOT / "site")
    parser.add_argument("--out", type=Path, default=ROOT / "site-screenshots")
    parser.add_argument("--size", default="1280,900", help="window size WIDTH,HEIGHT")
    args = parser.parse_args(argv)
    if not (args.site / "index.html").is_file():
        sys.exit(f"{args.site} has no index.html: build the site first (nox -s docs)")
    args.out.mkdir(exist_ok=True)
    chromium = _chromium()

    handler = functools.partial(_QuietHandler, directory=os.fspath(args.site))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            port = server.server_address[1]
            for name, page in PAGES.items():
                target = args.out / f"{name}.png"
                target.unlink(missing_ok=True)
                subprocess.run(
                    [
                        chromium,
                        "--headless",
                        "--no-sandbox",  # as root (CI), Chromium refuses to start sandboxed
                        "--disable-gpu",
                        "--hide-scrollbars",
                        "--no-first-run",
                        f"--window-size={args.size}",
                        f"--screenshot={target}",
                        f"http://127.0.0.1:{port}/{page}",
                    ],
                    check=True,
                    capture_output=True,
                    timeout=120,
                )
                if not target.is_file() or target.stat().st_size == 0:
                    sys.exit(f"Chromium wrote no screenshot for /{page}")
                print(f"{target.relative_to(ROOT)}  (http://127.0.0.1:{port}/{page})")
        finally:
            server.shutdown()
    return 0


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


if __name__ == "__main__":
    sys.exit(main())
