"""Make tests/data/live-clip.webm: 40 s (140 s to 180 s) of *Nunc Dimittis* (orchestra and choir,
Debian's wesnoth-1.16-music) as Opus in WebM, the container MediaSource takes. The live test page
plays it through MediaSource (a ``blob:`` address, as video sites do). Made once (2026-11-30) with
Debian's ffmpeg, which the project does not otherwise need:

    apt-get install ffmpeg && python scripts/make_live_clip.py
"""

import subprocess
from pathlib import Path

SOURCE = "/usr/share/games/wesnoth/1.16/data/core/music/nunc_dimittis.ogg"
OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "live-clip.webm"


def main() -> None:
    subprocess.run(
        ["ffmpeg", "-nostdin", "-y", "-loglevel", "error", "-ss", "140", "-t", "40", "-i", SOURCE,
         "-vn", "-c:a", "libopus", "-b:a", "128k", "-ar", "48000", "-map_metadata", "-1", str(OUT)],
        check=True,
    )  # fmt: skip


if __name__ == "__main__":
    main()
