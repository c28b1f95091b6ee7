"""Images in: a guarded decoder for uploads (samples in `cnnviz.images.samples`).

Every upload goes through `load_image`, which turns any file into a float32 array in [0, 1] or
raises `ImageError` with a sentence a student can act on. Nothing else escapes: Pillow's many
failure modes (listed in the team's hazards notes) are caught inside one guard.

Gray conversion uses Pillow's `convert("L")`: ITU-R 601 luma, L = 0.299 R + 0.587 G + 0.114 B,
rounded to 8 bits before scaling to [0, 1].
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image, ImageOps, features

Mode = Literal["rgb", "gray"]

# Pillow plugins we let near user bytes. Everything else (EPS would start Ghostscript; PSD, FITS,
# JPEG 2000, ... are rarely needed and add attack surface) is refused before any plugin runs.
# ICO is left out too: Pillow decodes an icon's embedded PNG before its size can be checked.
ALLOWED_FORMATS: tuple[str, ...] = ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP", "PPM") + (
    ("AVIF",) if features.check("avif") else ()
)

_EXPORT_ADVICE = "Export it as PNG or JPEG and upload that."
_HIGH_BIT_LABELS = {"I;16": "16-bit", "I": "32-bit integer", "F": "32-bit float"}

# ITU-R 601 luma weights of R, G, B: Pillow's convert("L"), used wherever a picture becomes gray
LUMA = np.array([0.299, 0.587, 0.114])


class ImageError(ValueError):
    """An image cnnviz cannot use; the message says what is wrong and what to do."""


@dataclass(frozen=True, eq=False)
class LoadedImage:
    """A decoded image as floats in [0, 1], plus what was done to it (for the screen)."""

    array: np.ndarray  # float32, (H, W, 3) for rgb or (H, W) for gray
    original_size: tuple[int, int]  # (w, h) upright, before downscaling
    size: tuple[int, int]  # (w, h) of `array`
    downscaled: bool
    notes: tuple[str, ...]  # sentences such as "Animated image: using the first frame only."
    format: str  # "PNG", "JPEG", ... or "generated" for drawn samples


# ---------------------------------------------------------------------------------------------
# Recognising files we will not decode


_FOREIGN_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "a PDF document"),
    (b"%!PS", "a PostScript or EPS file"),
    (b"\xc5\xd0\xd3\xc6", "a PostScript or EPS file"),
    (b"8BPS", "a Photoshop document (PSD)"),
    (b"icns", "a macOS icon (ICNS)"),
    (b"\x00\x00\x01\x00", "a Windows icon (ICO)"),
    (b"\x00\x00\x02\x00", "a Windows cursor (CUR)"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "a JPEG 2000 image"),
    (b"\xffO\xffQ", "a JPEG 2000 image"),
    (b"qoif", "a QOI image"),
    (b"DDS ", "a DirectDraw texture (DDS)"),
    (b"gimp xcf", "a GIMP document (XCF)"),
    (b"PK\x03\x04", "a zip archive"),
    (b"PK\x05\x06", "a zip archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"ID3", "an audio file (MP3)"),
    (b"OggS", "an audio or video file (Ogg)"),
    (b"\x1aE\xdf\xa3", "a video file (WebM/MKV)"),
    (b"\x7fELF", "a program"),
    (b"MZ", "a Windows program"),
)
_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1")
_OWN_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG", "PNG"),
    (b"\xff\xd8", "JPEG"),
    (b"GIF8", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)


def _looks_like(data: bytes) -> str | None:
    """Name the kind of a file Pillow refused, from its first bytes, or None if unknown."""
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<svg", b"<?xml")) or (head.startswith(b"<") and b"<svg" in head):
        return "an SVG drawing"
    if head.startswith((b"<!doctype html", b"<html")):
        return "a web page"
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in _HEIF_BRANDS:
            return "a HEIC/HEIF photo, the iPhone format"
        if brand in (b"avif", b"avis"):
            return "an AVIF image"
        return "a video file (MP4/MOV)"
    if data[:4] == b"RIFF" and data[8:12] != b"WEBP":
        return "a video or audio file (RIFF)"
    for signature, kind in _FOREIGN_SIGNATURES:
        if data.startswith(signature):
            return kind
    if _is_text(data[:1024]):
        return "a text file"
    return None


def _is_text(chunk: bytes) -> bool:
    """True when `chunk` reads as printable UTF-8 text (a renamed .txt, .csv, .json...)."""
    try:
        text = chunk.decode("utf-8")
    except UnicodeDecodeError as exc:
        # Only a character cut at the end of the chunk is fine; a bad byte (b"\x89", b"\xff\xd8"
        # in a tiny file) near the end is not text.
        if exc.reason != "unexpected end of data" or exc.start < len(chunk) - 3:
            return False
        text = chunk[: exc.start].decode("utf-8")
    return re.search(r"[\x00-\x08\x0e-\x1f\x7f]", text) is None


def _claimed_format(data: bytes) -> str:
    """The image format the first bytes announce, for messages about damaged files."""
    for signature, name in _OWN_SIGNATURES:
        if data.startswith(signature):
            return name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    return ""


def _unreadable_message(data: bytes) -> str:
    """Explain why Pillow could not identify `data`."""
    kind = _looks_like(data)
    if kind is not None:
        return f"This file is not an image cnnviz can read (it looks like {kind}). {_EXPORT_ADVICE}"
    claimed = _claimed_format(data)
    if claimed:
        return _damaged_message(claimed)
    return (
        "This file is not an image cnnviz can read. "
        "Upload a PNG, JPEG, GIF, BMP, TIFF or WebP image."
    )


def _damaged_message(fmt: str) -> str:
    """The sentence for a file that announces an image format but does not decode."""
    name = f"This {fmt} image" if fmt else "This image"
    return (
        f"{name} could not be decoded: the file seems damaged or incomplete. "
        "Open it in an image editor, save it again as PNG or JPEG, and upload that."
    )


def _too_large_message(w: int, h: int, max_pixels: int) -> str:
    """The sentence for an image whose header claims more pixels than we allow."""
    return (
        f"This image is too large: {w}×{h} pixels is {w * h / 1e6:.1f} megapixels, and cnnviz "
        f"reads at most {max_pixels / 1e6:g} megapixels. Shrink it (2000 pixels on the long side "
        "is plenty) and upload it again."
    )


# ---------------------------------------------------------------------------------------------
# Decoding


def load_image(
    data: bytes,
    *,
    mode: Mode = "rgb",
    max_side: int = 512,
    max_pixels: int = 40_000_000,
    max_bytes: int = 20 * 2**20,
) -> LoadedImage:
    """Decode uploaded bytes to floats in [0, 1], downscaled to `max_side`; else ImageError.

    Never trusts the file name or extension, decodes only `ALLOWED_FORMATS`, checks the pixel
    count in the header before decoding, and turns every Pillow failure into an ImageError.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"load_image needs bytes, not {type(data).__name__}")
    check_options(mode, max_side)
    data = bytes(data)
    if not data:
        raise ImageError("The file is empty (0 bytes). Choose an image file such as a PNG or JPEG.")
    if len(data) > max_bytes:
        raise ImageError(
            f"The file is {len(data) / 2**20:.1f} MB, more than the {max_bytes / 2**20:g} MB "
            "cnnviz accepts. Save a smaller copy (for example as JPEG) and upload that."
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return _decode(data, mode, max_side, max_pixels)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        limit = min(max_pixels, Image.MAX_IMAGE_PIXELS or max_pixels)
        raise ImageError(
            f"This image is too large: its header claims more than {limit / 1e6:g} megapixels. "
            "Shrink it (2000 pixels on the long side is plenty) and upload it again."
        ) from exc
    except Exception as exc:  # Pillow raises OSError, SyntaxError, struct.error, EOFError, ...
        raise ImageError(_damaged_message(_claimed_format(data))) from exc


def check_options(mode: str, max_side: int) -> None:
    """Reject programming mistakes in the options (not user errors) early."""
    if mode not in ("rgb", "gray"):
        raise ValueError(f"mode must be 'rgb' or 'gray', not {mode!r}.")
    if not isinstance(max_side, int) or max_side < 1:
        raise ValueError(f"max_side must be a positive int, not {max_side!r}.")


def _decode(data: bytes, mode: Mode, max_side: int, max_pixels: int) -> LoadedImage:
    """Open, check, load and orient one image; the caller turns exceptions into ImageError."""
    try:
        im = Image.open(io.BytesIO(data), formats=list(ALLOWED_FORMATS))
    except Image.UnidentifiedImageError as exc:
        raise ImageError(_unreadable_message(data)) from exc
    fmt = im.format or "image"
    w, h = im.size
    if w < 1 or h < 1:
        raise ImageError(_damaged_message(fmt))
    if im.mode in _HIGH_BIT_LABELS or im.mode.startswith("I;"):
        max_pixels //= 4  # 32-bit pixels and their float64 scaling cost 4x the memory
    if w * h > max_pixels:
        raise ImageError(_too_large_message(w, h, max_pixels))

    notes: list[str] = []
    if getattr(im, "is_animated", False):  # cheap: a header flag or one seek; never n_frames
        notes.append(_frames_note(fmt))
    drafted = fmt in ("JPEG", "MPO") and max(w, h) > max_side
    if drafted:
        im.draft(None, _fit((w, h), max_side))  # let libjpeg decode at 1/2, 1/4 or 1/8 size
    im.load()
    if im.size[0] * im.size[1] > max_pixels:  # a frame may differ from the header's size
        raise ImageError(_too_large_message(*im.size, max_pixels))
    original = (w, h) if drafted else im.size

    stored = im.size
    im = _upright(im, notes)
    if im.size != stored:  # turned by 90 degrees
        original = (original[1], original[0])
    return from_pil(im, mode, max_side, fmt, original, notes)


def _frames_note(fmt: str) -> str:
    """Say that only the first frame or page of a multi-image file is used."""
    if fmt == "TIFF":
        return "Multi-page TIFF: using the first page only."
    if fmt in ("GIF", "PNG", "WEBP", "AVIF"):
        return "Animated image: using the first frame only."
    return "This file holds several images: using the first one only."


def _upright(im: Image.Image, notes: list[str]) -> Image.Image:
    """Apply the camera's EXIF orientation; damaged EXIF leaves the image as stored."""
    try:
        orientation = im.getexif().get(0x0112, 1)
    except Exception:
        notes.append("The photo's EXIF data is damaged, so it is shown as stored.")
        return im
    if orientation not in (2, 3, 4, 5, 6, 7, 8):
        return im
    try:
        turned = ImageOps.exif_transpose(im)
    except Exception:
        notes.append("The photo's EXIF orientation could not be applied; shown as stored.")
        return im
    notes.append("Rotated upright using the camera's EXIF orientation.")
    return turned


def _fit(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """Scale (w, h) so the long side is at most `max_side`, keeping at least 1 px per side."""
    w, h = size
    if max(w, h) <= max_side:
        return size
    scale = max_side / max(w, h)
    return max(1, round(w * scale)), max(1, round(h * scale))


# ---------------------------------------------------------------------------------------------
# Conversion: the one path from a PIL image to a LoadedImage (uploads and samples alike)


def from_pil(
    im: Image.Image,
    mode: Mode,
    max_side: int,
    fmt: str,
    original: tuple[int, int],
    notes: list[str],
) -> LoadedImage:
    """Convert any PIL mode to float32 in [0, 1], downscale, and describe what was done.

    Downscaling comes before compositing and colour conversion: a 40-megapixel RGBA upload
    then costs one decoded copy, not four.
    """
    size = _fit(original, max_side)
    if im.mode.startswith("I;16") or im.mode in ("I", "F"):
        im = _resized(_scaled_float(im, notes), size)
    else:
        im = _resized(_resizable(im, notes), size)
        im = _on_white(im)
        if mode == "gray" and im.mode != "L":
            im = im.convert("L")
    arr = np.asarray(im, dtype=np.float32)
    arr = np.clip(arr, 0.0, 1.0) if im.mode == "F" else arr / np.float32(255)
    if mode == "rgb" and arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    downscaled = size != original
    if downscaled:
        notes.append(
            f"Downscaled from {original[0]}×{original[1]} to {size[0]}×{size[1]} "
            "to keep things fast."
        )
    return LoadedImage(np.ascontiguousarray(arr), original, size, downscaled, tuple(notes), fmt)


def _resized(im: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Lanczos downscale to `size` (Pillow premultiplies alpha, so edges get no dark fringe)."""
    return im if im.size == size else im.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _resizable(im: Image.Image, notes: list[str]) -> Image.Image:
    """Bring an 8-bit image to "L", "LA", "RGB" or "RGBA": modes that resample correctly."""
    if im.mode == "1":
        im = im.convert("L")  # numpy would give booleans, resize would use nearest neighbour
    if im.mode in ("P", "L", "RGB") and "transparency" in im.info:
        im = im.convert("RGBA")  # a palette's hidden colours must not show
    if im.mode in ("La", "PA", "RGBa"):
        im = im.convert("RGBA")
    if im.mode not in ("L", "LA", "RGB", "RGBA"):
        im = im.convert("RGB")  # P, CMYK, YCbCr, LAB, HSV, RGBX
    if im.mode in ("LA", "RGBA") and im.getextrema()[-1][0] < 255:
        notes.append("Transparent areas were placed on white.")
    return im


def _on_white(im: Image.Image) -> Image.Image:
    """Composite "LA"/"RGBA" on a white background; other modes pass through."""
    if im.mode not in ("LA", "RGBA"):
        return im
    im = im.convert("RGBA")
    white = Image.new("RGBA", im.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, im).convert("RGB")


def _scaled_float(im: Image.Image, notes: list[str]) -> Image.Image:
    """Scale a 16-bit, 32-bit integer or float image by its own min/max to an "F" image in [0, 1].

    `convert("L")` would clip these (most 16-bit photos turn white), so we stretch instead.
    """
    label = _HIGH_BIT_LABELS["I;16" if im.mode.startswith("I;16") else im.mode]
    # float64 for "I" and "F": in float32, (a - lo) and (hi - lo) overflow to inf for a float
    # image spanning more than ±1.7e38 and give NaN. I;16 is exact and safe in float32.
    a = np.asarray(im).astype(np.float32 if im.mode.startswith("I;16") else np.float64)
    if im.mode == "F" and not np.isfinite(a).all():
        bad = int(a.size - np.isfinite(a).sum())
        raise ImageError(
            f"This float image has {bad} pixel(s) that are NaN or infinite, not real numbers, "
            "so it cannot be shown. Replace them with real numbers and save it again."
        )
    lo, hi = float(a.min()), float(a.max())
    if hi > lo:
        a = (a - lo) / (hi - lo)
        notes.append(f"{label} image: scaled by its own min/max ({lo:g} → black, {hi:g} → white).")
    else:
        a = np.zeros_like(a)
        notes.append(f"{label} image: every pixel has the same value ({lo:g}), shown as black.")
    return Image.fromarray(a.astype(np.float32), mode="F")
