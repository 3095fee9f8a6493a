"""HTML -> PDF with headless Chromium (``--print-to-pdf``), offline.

Chromium prints the very HTML file the report writes, plotly charts included (``--virtual-time-budget`` lets
their scripts run before the page is printed), so the PDF needs no second renderer of its own and no network:
the HTML is self-contained and the host resolver maps every name to nowhere. The browser is
``SALES_REPORT_BROWSER`` or the first of :data:`CANDIDATES` on the PATH (Debian's ``chromium`` package, already
the browser tests' dependency).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import config

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-quic", "--disable-extensions", "--mute-audio",
         "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1",
         "--no-pdf-header-footer", "--virtual-time-budget=20000", "--run-all-compositor-stages-before-draw")
TIMEOUT_S = 180


class RendererMissing(ValueError):
    """No Chromium to print with: the message says how to get one or use HTML."""


def browser() -> str:
    """The browser executable, or :class:`RendererMissing` naming what was looked for."""
    configured = config.load().report_browser
    if configured:
        found = shutil.which(configured)
        if found is None:
            raise RendererMissing(f"SALES_REPORT_BROWSER={configured!r} is not an executable: install Chromium "
                                  "(apt-get install chromium) or point it at Chrome, or use --format html")
        return found
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    raise RendererMissing("PDF needs Chromium or Chrome and none is on the PATH (looked for "
                          f"{', '.join(CANDIDATES)}): apt-get install chromium, set SALES_REPORT_BROWSER, or use "
                          "--format html")


def html_to_pdf(html_path: Path, pdf_path: Path) -> Path:
    """Print ``html_path`` to ``pdf_path`` (A4, the page's own @page margins); returns ``pdf_path``."""
    exe = browser()
    pdf_path = Path(pdf_path).resolve()
    with tempfile.TemporaryDirectory(prefix="report-chromium-") as profile:
        cmd = [exe, *FLAGS, f"--user-data-dir={profile}", f"--print-to-pdf={pdf_path}",
               Path(html_path).resolve().as_uri()]
        env = {**os.environ, "HOME": profile}  # Chromium writes its crash and config files under HOME
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S, env=env, check=False)
        except subprocess.TimeoutExpired as exc:
            raise RuntimeError(f"{exe} did not print the report within {TIMEOUT_S} s") from exc
    if done.returncode != 0 or not pdf_path.exists() or pdf_path.stat().st_size == 0:
        tail = (done.stderr or done.stdout or "").strip().splitlines()[-3:]
        raise RuntimeError(f"{exe} failed to print {html_path} (exit {done.returncode}): {' | '.join(tail)}")
    return pdf_path
