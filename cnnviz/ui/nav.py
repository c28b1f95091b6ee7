"""The app's pages, in menu order: one list that app.py routes and the tests walk."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageInfo:
    path: str  # relative to the repository root
    title: str
    icon: str
    url_path: str  # "" for the default page


PAGES: tuple[PageInfo, ...] = (
    PageInfo("pages/home.py", "Home", ":material/home:", ""),
    PageInfo("pages/output_size.py", "Output size", ":material/straighten:", "output-size"),
)


def page_for(stage: str) -> PageInfo | None:
    """The page where a pipeline stage ("conv", "pool", ...) can be touched, if it exists yet."""
    wanted = TOUCH.get(stage)
    return next((p for p in PAGES if p.url_path == wanted), None)


# pipeline stage -> url_path of the page that lets a user touch it (later pages add theirs)
TOUCH: dict[str, str] = {"conv": "output-size", "pool": "output-size"}
