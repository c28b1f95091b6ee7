"""Suite-wide settings: hypothesis profiles chosen by the HYPOTHESIS_PROFILE env variable.

- ci (default): 300 examples per property, what `make test` and CI run.
- deep: 5000 examples, `make test-deep`, run by hand before a release.
- dev: 50 examples, for a quick loop: `HYPOTHESIS_PROFILE=dev .venv/bin/pytest -x`.

The repository root is importable through `pythonpath` in pyproject.toml.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=300,
    deadline=None,
    derandomize=False,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "deep",
    max_examples=5000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "dev",
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
