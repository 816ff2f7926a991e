"""Out-of-the-box configuration, shared by the data migration's reverse and by `severities_ensure_defaults`."""

from datetime import timedelta

RESPONDERS_GROUP = "responders"

# (name, slug, rank, response target, escalation target)
DEFAULT_SEVERITIES: list[tuple[str, str, int, timedelta, timedelta | None]] = [
    ("Critical", "critical", 1, timedelta(minutes=5), timedelta(minutes=15)),
    ("High", "high", 2, timedelta(minutes=15), timedelta(minutes=30)),
    ("Medium", "medium", 3, timedelta(hours=1), timedelta(hours=4)),
    ("Low", "low", 4, timedelta(days=1), None),
]

# (order, name): addresses are left empty for an admin to fill in.
DEFAULT_ESCALATION_LEVELS: list[tuple[int, str]] = [(1, "On-call"), (2, "Manager")]
