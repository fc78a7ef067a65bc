"""Headless Chromium (the Debian ``chromium`` package) for tests of the HTML report: the DOM as the
browser built it, and screenshots decoded to pixels. Nothing is installed at test time: tests/run.sh
installs the package, and a missing browser fails the test that needs it (it does not skip)."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


def binary() -> str:
    found = (
        os.environ.get("PRODGUARD_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    )
    if not found:
        pytest.fail(
            "headless Chromium is not installed (tests/run.sh installs the Debian 'chromium' package)"
        )
    return found


def _run(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[bytes]:
    command = [binary(), *FLAGS, f"--user-data-dir={profile}", *extra, page.resolve().as_uri()]
    return subprocess.run(command, capture_output=True, timeout=120, check=True)


def dump_dom(page: Path, profile: Path) -> str:
    """The serialized DOM after Chromium parsed and laid out ``page``."""
    return _run(page, profile, "--dump-dom").stdout.decode("utf-8")


def print_pdf(page: Path, profile: Path) -> bytes:
    """The page printed (print media: the ``@media print`` rules apply), as PDF bytes."""
    target = profile / "page.pdf"
    _run(page, profile, "--no-pdf-header-footer", f"--print-to-pdf={target}")
    return target.read_bytes()


def screenshot(page: Path, profile: Path, width: int = 1200, height: int = 2400) -> Image:
    target = profile / "shot.png"
    _run(page, profile, f"--window-size={width},{height}", f"--screenshot={target}")
    return Image.from_png(target.read_bytes())


class Image:
    """An 8-bit RGB(A) PNG as rows of (r, g, b) pixels: enough to look at regions of a screenshot."""

    def __init__(self, width: int, height: int, rows: list[bytes], channels: int) -> None:
        self.width, self.height, self._rows, self._channels = width, height, rows, channels

    @classmethod
    def from_png(cls, data: bytes) -> Image:
        assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
        position, idat = 8, b""
        width = height = channels = 0
        while position < len(data):
            (length,) = struct.unpack(">I", data[position : position + 4])
            kind = data[position + 4 : position + 8]
            chunk = data[position + 8 : position + 8 + length]
            position += 12 + length
            if kind == b"IHDR":
                width, height, depth, color, _c, _f, interlace = struct.unpack(">IIBBBBB", chunk)
                assert depth == 8 and color in (2, 6) and interlace == 0, "unsupported PNG layout"
                channels = 3 if color == 2 else 4
            elif kind == b"IDAT":
                idat += chunk
        raw = zlib.decompress(idat)
        stride = width * channels
        rows: list[bytes] = []
        previous = np.zeros(stride, dtype=np.uint8)
        for y in range(height):
            start = y * (stride + 1)
            kind = raw[start]
            line = np.frombuffer(raw, dtype=np.uint8, count=stride, offset=start + 1).copy()
            if kind == 1:  # Sub: a running sum per channel
                line = (
                    (np.cumsum(line.reshape(width, channels), axis=0, dtype=np.uint32) & 0xFF)
                    .astype(np.uint8)
                    .ravel()
                )
            elif kind == 2:  # Up
                line = line + previous  # uint8 arithmetic wraps modulo 256, as the filter wants
            elif kind in (3, 4):  # Average and Paeth depend on the pixel just decoded: byte by byte
                out, up = bytearray(line.tobytes()), previous.tobytes()
                for i in range(stride):
                    left = out[i - channels] if i >= channels else 0
                    corner = up[i - channels] if i >= channels else 0
                    if kind == 3:
                        out[i] = (out[i] + (left + up[i]) // 2) & 0xFF
                    else:
                        p = left + up[i] - corner
                        pa, pb, pc = abs(p - left), abs(p - up[i]), abs(p - corner)
                        out[i] = (
                            out[i] + (left if pa <= pb and pa <= pc else up[i] if pb <= pc else corner)
                        ) & 0xFF
                line = np.frombuffer(bytes(out), dtype=np.uint8)
            rows.append(line.tobytes())
            previous = line
        return cls(width, height, rows, channels)

    def count(
        self, rgb: tuple[int, int, int], box: tuple[int, int, int, int] | None = None, tolerance: int = 8
    ) -> int:
        """Pixels within ``tolerance`` of ``rgb`` in ``box`` (left, top, right, bottom; default: all)."""
        left, top, right, bottom = box or (0, 0, self.width, self.height)
        pixels = np.frombuffer(b"".join(self._rows), dtype=np.uint8).reshape(
            self.height, self.width, self._channels
        )
        region = pixels[top:bottom, left:right, :3].astype(np.int16)
        close = np.all(np.abs(region - np.array(rgb, dtype=np.int16)) <= tolerance, axis=2)
        return int(close.sum())
