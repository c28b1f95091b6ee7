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
