"""Images in: the guarded decoder for uploads (`decode`), the sample pictures (`samples`), and
drawings or photos made to look like the training data (`digit`)."""

from cnnviz.images.decode import ALLOWED_FORMATS, ImageError, LoadedImage, load_image
from cnnviz.images.digit import centre_digit, fit_to_input
from cnnviz.images.samples import SAMPLES, sample_image

__all__ = [
    "ALLOWED_FORMATS",
    "SAMPLES",
    "ImageError",
    "LoadedImage",
    "centre_digit",
    "fit_to_input",
    "load_image",
    "sample_image",
]
