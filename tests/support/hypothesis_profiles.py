"""Hypothesis depth for the suite: the ``ci`` profile every run uses, ``deep`` on request.

``ci`` (the default, what `make test` runs) keeps every property and state machine inside the
suite's time budget; ``deep`` (``HYPOTHESIS_PROFILE=deep``, for a nightly or a manual run)
explores far more: many more examples and longer rule sequences. ``tests/conftest.py`` loads the
chosen profile before any test module is imported.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("ci", settings())  # Hypothesis's own defaults for plain @given tests
settings.register_profile("deep", max_examples=1_000, stateful_step_count=100)
HYPOTHESIS_PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")


def machine_settings(examples: int, steps: int, *checks: HealthCheck) -> settings:
    """A state machine's settings: ``examples`` rule sequences of up to ``steps`` rules each in
    the ``ci`` profile; under ``deep``, the profile's much larger counts. No deadline, because
    one step can be a whole database transaction on a busy machine."""
    quiet = [HealthCheck.too_slow, HealthCheck.data_too_large, *checks]
    if HYPOTHESIS_PROFILE == "deep":
        return settings(deadline=None, suppress_health_check=quiet)
    return settings(
        max_examples=examples, stateful_step_count=steps, deadline=None, suppress_health_check=quiet
    )
