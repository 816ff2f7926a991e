"""Rate limits whose rates are read per request, so settings overrides (tests, env) take effect.

DRF's stock throttles copy DEFAULT_THROTTLE_RATES into a class attribute at import time.
"""

from rest_framework import throttling
from rest_framework.settings import api_settings


class AnonThrottle(throttling.AnonRateThrottle):
    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class UserThrottle(throttling.UserRateThrottle):
    """Per user, so all of one person's keys and their browser session share one budget."""

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
