"""The Subsonic serializer alone, run by hand (never by pytest):

    . .venv/bin/activate && python bench/bench_subsonic_render.py [--songs 500] [--rounds 40]

Renders one page of ``--songs`` songs as ``search3`` answers it (the library sync of a player asks
for 500 at a time) in JSON and in XML, and reports the best CPU time of ``--rounds`` renders of
each (CPU time of this process: the figure does not move with the load of other processes), and
the size of the answer. Written to ``bench/results/subsonic_render.txt`` as well.
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sono.entrypoints.subsonic.model import to_json
from sono.entrypoints.subsonic.response import JSON, XML, render_ok
from sono.entrypoints.subsonic.shapes import Responses

RESULTS = Path(__file__).resolve().parent / "results" / "subsonic_render.txt"


def song(number: int) -> dict[str, object]:
    """A song with every field Sono fills, of the lengths a real library has."""
    created = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(minutes=number)
    album, artist = number // 10 + 1, number // 50 + 1
    return {
        "id": f"tr-{number + 1}",
        "parent": f"al-{album}",
        "isDir": False,
        "title": f"Song number {number} of the bench",
        "album": f"Album {album}",
        "artist": f"Artist {artist}",
        "track": number % 10 + 1,
        "year": 1990 + number % 30,
        "genre": "Electronic",
        "coverArt": f"cv-tr-{number + 1}-6410b3ce0a1b2c3d",
        "size": 7_340_032 + number,
        "contentType": "audio/mpeg",
        "suffix": "mp3",
        "duration": 215,
        "bitRate": 320,
        "path": f"Artist {artist}/Album {album}/{number % 10 + 1:02d} - Song number {number}.mp3",
        "playCount": number % 7,
        "created": created,
        "starred": created if number % 3 == 0 else None,
        "albumId": f"al-{album}",
        "artistId": f"ar-{artist}",
        "type": "music",
        "played": created + timedelta(days=1) if number % 2 else None,
        "samplingRate": 44_100,
        "channelCount": 2,
        "mediaType": "song",
    }


def best_cpu_ms(action: Callable[[], object], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        action()
        best = min(best, time.process_time() - started)
    return best * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--songs", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()

    page = {"song": [song(number) for number in range(args.songs)]}
    element = Responses.SEARCH_RESULT3
    checked = best_cpu_ms(lambda: to_json(element.shape, page), args.rounds)
    lines = [
        f"Subsonic render, {args.songs} songs per page, best CPU time of {args.rounds} ({platform.python_version()})",
        f"  checked values only:      {checked:6.1f} ms",
    ]
    for name, fmt in (("JSON", JSON), ("XML", XML)):
        size = len(render_ok(fmt, element, page).body)
        spent = best_cpu_ms(lambda fmt=fmt: render_ok(fmt, element, page), args.rounds)
        per_song = spent * 1000 / args.songs
        lines.append(f"  {name + ':':<25} {spent:6.1f} ms  ({per_song:.0f} us a song, {size / 1024:.0f} KiB)")
    report = "\n".join(lines)
    print(report)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(report + "\n")


if __name__ == "__main__":
    main()
