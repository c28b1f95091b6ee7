"""The app's pages, in menu order: one list that app.py routes and the tests walk."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath


@dataclass(frozen=True)
class PageInfo:
    path: str  # relative to the repository root
    title: str
    icon: str
    default: bool = False

    @property
    def url_path(self) -> str:
        """The file's stem ("" for the default page).

        Streamlit 1.67 still scans a `pages/` folder when a session starts; a direct link to a
        url_path that differs from the file's stem then pops a "Page not found" dialog over
        the right page. Using the stem avoids it (tests/browser checks there is no dialog).
        """
        return "" if self.default else PurePosixPath(self.path).stem


PAGES: tuple[PageInfo, ...] = (
    PageInfo("pages/home.py", "Home", ":material/home:", default=True),
    PageInfo("pages/convolution.py", "Convolution", ":material/blur_on:"),
    PageInfo("pages/pooling.py", "Pooling", ":material/grid_view:"),
    PageInfo("pages/step_by_step.py", "Step by step", ":material/footprint:"),
    PageInfo("pages/output_size.py", "Output size", ":material/straighten:"),
    PageInfo("pages/activations.py", "Activations", ":material/show_chart:"),
    PageInfo("pages/train.py", "Train a CNN", ":material/model_training:"),
    PageInfo("pages/explore.py", "Explore a trained net", ":material/travel_explore:"),
    PageInfo("pages/backprop.py", "Backprop", ":material/undo:"),
    PageInfo("pages/ideas.py", "Ideas", ":material/lightbulb:"),
)


def page_for(stage: str) -> PageInfo | None:
    """The page where a pipeline stage ("conv", "pool", ...) can be touched, if it exists yet."""
    return next((p for p in PAGES if p.path == TOUCH.get(stage)), None)


# pipeline stage -> the page that lets a user touch it (later pages add theirs)
TOUCH: dict[str, str] = {
    "conv": "pages/convolution.py",
    "pool": "pages/pooling.py",
    "relu": "pages/activations.py",
    "softmax": "pages/activations.py",
    "dense": "pages/explore.py",
}


def page_at(path: str) -> PageInfo:
    """The menu entry of a page file ("pages/convolution.py")."""
    return next(p for p in PAGES if p.path == path)
