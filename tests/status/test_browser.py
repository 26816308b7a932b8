"""A real browser draws the badges and the charts: headless Chromium screenshots, read pixel by pixel."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import requests

from status.badge import svg_color
from tests.status.real_run import PROJECT, real_run, serving_store  # noqa: F401 - fixture

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get install -y chromium)")

LABEL_GREY = (0x55, 0x55, 0x55)
LOSS_BLUE = (0x1F, 0x77, 0xB4)
PERPLEXITY_GREEN = (0x2C, 0xA0, 0x2C)


def screenshot(url: str, out: Path, size: tuple[int, int]):
    """Load ``url`` in headless Chromium and return the screenshot as an RGB image."""
    from PIL import Image

    cmd = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
        f"--user-data-dir={out.parent / (out.stem + '-profile')}", f"--screenshot={out}", f"--window-size={size[0]},{size[1]}", url,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.exists(), f"no screenshot: {done.stderr[-2000:]}"
    return Image.open(out).convert("RGB")


def _near(pixel: tuple[int, int, int], color: tuple[int, int, int], tolerance: int = 28) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, color))


def pixels(image) -> list[tuple[int, int, int]]:
    """The RGB pixels, row by row."""
    raw = image.tobytes()
    return [tuple(raw[i:i + 3]) for i in range(0, len(raw), 3)]


def count(image, color, box=None) -> int:
    """Pixels of ``image`` (within ``box`` = left, top, right, bottom) close to ``color``."""
    region = image.crop(box) if box else image
    return sum(1 for p in pixels(region) if _near(p, color))


def where(image, color) -> tuple[int, int, int, int]:
    """The bounding box of the pixels close to ``color``."""
    xs, ys = [], []
    w = image.width
    for i, p in enumerate(pixels(image)):
        if _near(p, color, 12):
            xs.append(i % w)
            ys.append(i // w)
    assert xs, f"no pixel of {color}"
    return min(xs), min(ys), max(xs), max(ys)


def rgb(hex_color: str) -> tuple[int, int, int]:
    h = hex_color.lstrip("#")
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    return tuple(int(h[i:i + 2], 16) for i in (0, 2, 4))


def badge_geometry(svg: str) -> tuple[int, int, str]:
    """Width of the whole badge, width of its label part, and the message colour."""
    width = int(re.search(r'<svg [^>]*width="(\d+)"', svg).group(1))
    label_width = int(re.search(r'<rect width="(\d+)" height="20" fill="#555"/>', svg).group(1))
    color = re.search(rf'<rect x="{label_width}" width="\d+" height="20" fill="(#[0-9a-f]+)"/>', svg).group(1)
    return width, label_width, color


def test_the_page_and_a_readme_show_the_badges_and_the_chart(real_run, tmp_path):  # noqa: F811
    with serving_store(real_run.layout.status_store) as served:
        svgs = {s: requests.get(f"{served.url}/badge/{PROJECT}/{s}.svg", timeout=10).text for s in ("data", "train", "serving")}
        page = screenshot(f"{served.url}/{PROJECT}?tab=Training", tmp_path / "page.png", (1000, 1100))
        readme = tmp_path / "README.html"
        tops = {"data": 10, "train": 50, "serving": 90}
        imgs = "".join(
            f'<img style="position:absolute;left:10px;top:{tops[s]}px" alt="{s}" '
            f'src="{served.url}/api/v1/cubes/status/{s}?repositoryOwnerPlusName={PROJECT}&amp;token=PUBLIC">'
            for s in tops
        )
        readme.write_text(f'<!doctype html><html><body style="margin:0;background:#fff">{imgs}</body></html>', encoding="utf-8")
        # Headless Chromium paints only part of a small window: ask for room to spare.
        shot = screenshot(readme.as_uri(), tmp_path / "readme.png", (420, 360))

    # The README: each badge drawn where its <img> sits, grey label then its state's colour.
    for stage, top in tops.items():
        width, label_width, color = badge_geometry(svgs[stage])
        assert color == svg_color("brightgreen"), f"{stage} is green after the run"
        label = (10, top, 10 + label_width, top + 20)
        message = (10 + label_width, top, 10 + width, top + 20)
        assert count(shot, LABEL_GREY, label) > label_width * 8, f"{stage} label not drawn"
        assert count(shot, rgb(color), message) > (width - label_width) * 8, f"{stage} message not drawn"
        gap = (10, top + 24, 10 + width, top + 36)
        assert count(shot, (255, 255, 255), gap) == width * 12, "nothing drawn between the badges"

    # The page: the three badges side by side in its header, in their colours.
    header = page.crop((0, 0, page.width, 120))
    x = where(header, LABEL_GREY)[0]
    for stage in ("data", "train", "serving"):
        width, label_width, color = badge_geometry(svgs[stage])
        box = (x, 0, x + width, 120)
        assert count(header, LABEL_GREY, (x, 0, x + label_width, 120)) > label_width * 8, f"{stage} badge label"
        assert count(header, rgb(color), (x + label_width, 0, x + width, 120)) > (width - label_width) * 8, f"{stage} badge"
        assert box[2] < page.width
        x += width + 8  # the header's gap between badges
    # …and the training tab's charts: the loss line and the perplexity line, below the header.
    loss = where(page, LOSS_BLUE)
    ppl = where(page, PERPLEXITY_GREEN)
    assert count(page, LOSS_BLUE) > 300 and count(page, PERPLEXITY_GREEN) > 300
    assert 150 < loss[1] and loss[2] - loss[0] > 300, "the loss line spans the chart"
    assert ppl[1] > loss[3], "the perplexity chart sits below the loss chart"
