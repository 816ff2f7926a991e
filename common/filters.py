"""Filter pieces every app's FilterSets share."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django import forms
from django_filters import IsoDateTimeFilter
from django_filters.fields import IsoDateTimeField


class UTCIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time, handed to the database in UTC.

    Python accepts offsets up to ±23:59 but PostgreSQL only ±15:59, so `2026-01-01T00:00+17:33` would
    reach the database as an error (a 500). In UTC every offset Python parsed is fine; a moment that
    falls outside the years the database can store is a 400 here instead.
    """

    def to_python(self, value: Any) -> datetime | None:
        try:
            parsed = super().to_python(value)
            return parsed.astimezone(UTC) if parsed is not None and parsed.tzinfo else parsed
        except OverflowError:
            raise forms.ValidationError("That date-time is out of range.", code="invalid") from None


class UTCIsoDateTimeFilter(IsoDateTimeFilter):
    field_class = UTCIsoDateTimeField
