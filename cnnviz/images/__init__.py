"""Images in: the guarded decoder for uploads (`decode`) and the sample pictures (`samples`)."""

from cnnviz.images.decode import ALLOWED_FORMATS, ImageError, LoadedImage, load_image
from cnnviz.images.samples import SAMPLES, sample_image

__all__ = ["ALLOWED_FORMATS", "SAMPLES", "ImageError", "LoadedImage", "load_image", "sample_image"]
