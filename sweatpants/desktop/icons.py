"""The app and tray icons: one drawing, three tray looks (idle, running, failed).

The look follows the dashboard's `ui/icon.svg`: white sweatpants on a rounded square. The
square's colour tells the state at any size (blue idle, green running, red failed); from
24 px up a badge repeats it as a shape (a play triangle, an exclamation mark) for people who
do not tell the colours apart.

`assets/make_icons.py` writes these drawings to `assets/` (PNG 16-512, a multi-size ICO);
at run time `tray_image()` loads the PNG from there and draws it only when the file is not
shipped.
"""

from __future__ import annotations

import enum
from pathlib import Path

from PIL import Image, ImageDraw

from sweatpants import paths
from sweatpants.errors import Unavailable

SUPERSAMPLE = 4
APP_ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
TRAY_SIZE = 64


class TrayState(enum.Enum):
    """What the tray icon shows."""

    IDLE = "idle"
    RUNNING = "running"
    FAILED = "failed"


BACKGROUND = {
    TrayState.IDLE: (74, 91, 212, 255),  # the dashboard's #4a5bd4
    TrayState.RUNNING: (26, 148, 86, 255),
    TrayState.FAILED: (206, 50, 50, 255),
}
WHITE = (255, 255, 255, 255)

# The pants, in the 32-unit coordinates of ui/icon.svg.
_WAISTBAND = [(8.4, 7.8), (9.2, 7.0), (22.8, 7.0), (23.6, 7.8), (23.6, 10.0), (8.4, 10.0)]
_LEGS = [
    (8.4, 11.0),
    (23.6, 11.0),
    (24.5, 24.2),
    (23.7, 25.0),
    (19.6, 25.0),
    (18.82, 24.38),
    (16.0, 15.6),
    (13.18, 24.38),
    (12.4, 25.0),
    (8.3, 25.0),
    (7.5, 24.2),
]


def draw_icon(state: TrayState, size: int) -> Image.Image:
    """Draw the icon for `state` as a `size` x `size` RGBA image (antialiased by supersampling)."""
    big = size * SUPERSAMPLE
    unit = big / 32.0
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    background = BACKGROUND[state]
    # Small sizes use the whole square: every pixel counts in a 16 px tray slot.
    radius = unit * (5 if size <= 24 else 8)
    draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=radius, fill=background)

    def scaled(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
        return [(x * unit, y * unit) for x, y in points]

    draw.polygon(scaled(_WAISTBAND), fill=WHITE)
    draw.polygon(scaled(_LEGS), fill=(255, 255, 255, 235))
    draw.line(scaled([(14.5, 8.5), (17.5, 8.5)]), fill=background, width=max(1, round(unit * 1.0)))
    if size >= 24 and state is not TrayState.IDLE:
        _draw_badge(draw, state, unit)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def _draw_badge(draw: ImageDraw.ImageDraw, state: TrayState, unit: float) -> None:
    """A white disc at the bottom right with the state's shape in the state's colour."""
    colour = BACKGROUND[state]
    cx, cy, r = 25.0 * unit, 25.0 * unit, 6.2 * unit
    draw.ellipse((cx - r - unit, cy - r - unit, cx + r + unit, cy + r + unit), fill=colour)
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=WHITE)
    if state is TrayState.RUNNING:
        draw.polygon(
            [
                (cx - 2.2 * unit, cy - 3.4 * unit),
                (cx - 2.2 * unit, cy + 3.4 * unit),
                (cx + 3.6 * unit, cy),
            ],
            fill=colour,
        )
    else:
        w = 1.1 * unit
        draw.rounded_rectangle((cx - w, cy - 4.0 * unit, cx + w, cy + 1.0 * unit), w, fill=colour)
        draw.ellipse((cx - w, cy + 2.0 * unit, cx + w, cy + 4.2 * unit), fill=colour)


def assets_dir() -> Path | None:
    """Where the generated icons are (package, bundle or checkout), if they are shipped."""
    try:
        folder = paths.assets_dir()
    except Unavailable:
        return None
    return folder if (folder / "tray-idle.png").is_file() else None


def tray_image(state: TrayState) -> Image.Image:
    """The tray picture for `state`: the shipped PNG, or a fresh drawing if none is shipped."""
    folder = assets_dir()
    if folder is not None:
        path = folder / f"tray-{state.value}.png"
        if path.is_file():
            with Image.open(path) as image:
                return image.convert("RGBA")
    return draw_icon(state, TRAY_SIZE)


def app_icon_path() -> Path | None:
    """A PNG of the app icon for window managers (None when the assets are not shipped)."""
    folder = assets_dir()
    if folder is None:
        return None
    path = folder / "sweatpants-256.png"
    return path if path.is_file() else None


APP_SVG = """<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">
  <rect width="32" height="32" rx="8" fill="#4a5bd4"/>
  <path d="M9.2 7h13.6a.8.8 0 0 1 .8.8V10H8.4V7.8a.8.8 0 0 1 .8-.8Z" fill="#fff"/>
  <path d="M8.4 11h15.2l.9 13.2a.8.8 0 0 1-.8.8h-4.1a.8.8 0 0 1-.78-.62L16 15.6l-2.82 8.78a.8.8 0 \
0 1-.78.62H8.3a.8.8 0 0 1-.8-.8Z" fill="#fff" fill-opacity=".92"/>
  <path d="M14.5 8.5h3" stroke="#4a5bd4" stroke-width="1" stroke-linecap="round"/>
</svg>
"""


def write_assets(folder: Path) -> list[Path]:
    """Write every icon file into `folder`; return the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for state in TrayState:
        path = folder / f"tray-{state.value}.png"
        draw_icon(state, TRAY_SIZE).save(path, optimize=True)
        written.append(path)
    for size in APP_ICON_SIZES:
        path = folder / f"sweatpants-{size}.png"
        draw_icon(TrayState.IDLE, size).save(path, optimize=True)
        written.append(path)
    ico = folder / "sweatpants.ico"
    largest = draw_icon(TrayState.IDLE, max(ICO_SIZES))
    largest.save(
        ico,
        format="ICO",
        sizes=[(s, s) for s in ICO_SIZES],
        append_images=[draw_icon(TrayState.IDLE, s) for s in ICO_SIZES[:-1]],
    )
    written.append(ico)
    svg = folder / "sweatpants.svg"
    svg.write_text(APP_SVG, encoding="utf-8")
    written.append(svg)
    return written
