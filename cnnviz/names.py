"""File names from free text (a picture's name, a run's description), never cut mid-word."""

from __future__ import annotations

import re


def file_stem(text: str, limit: int = 40, sep: str = "_", default: str = "file") -> str:
    """`text` as a safe file stem: letters and digits (any script) joined by `sep`, at most `limit` long,
    shortened at a word boundary ("my_holiday_photo", not "my_holiday_pho")."""
    words = [w for w in re.split(r"[\W_]+", str(text)) if w]
    out = ""
    for w in words:
        nxt = f"{out}{sep}{w}" if out else w
        if len(nxt) > limit:
            if not out:  # one word longer than the limit: cut it, there is no boundary
                out = w[:limit]
            break
        out = nxt
    return out or default
