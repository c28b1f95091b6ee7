"""Pin torch's CPU kernels to AVX2 (imported first by `cnnviz/__init__.py`, before torch loads)."""

import os

# The same training numbers on every x86 CPU: torch's AVX-512 kernels (oneDNN's convolutions,
# MKL's matrix products, ATen's reductions) add in another order than their AVX2 ones, and over a
# few epochs that moves accuracies by points (Tiny VGG on shapes, seed 0: 0.884 with AVX-512, 0.9+
# with AVX2), while the presets and lessons quote measured numbers. AVX2 is what every x86 CPU of
# the last ten years has. Set before torch loads (it is lazy); a user's own setting wins.
for _name, _value in (
    ("ONEDNN_MAX_CPU_ISA", "AVX2"),
    ("MKL_CBWR", "AVX2"),
    ("ATEN_CPU_CAPABILITY", "avx2"),
):
    os.environ.setdefault(_name, _value)
