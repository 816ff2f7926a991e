"""Settings for a worker process started by a fault test: the project's, with the run task's time limit
and heartbeat taken from the environment so the test can keep the reaper's bounds small."""

import os

from config.settings import *  # noqa: F403 (the whole settings module, then the overrides below)

TRIAGE_CHECK_TASK_TIME_LIMIT = int(os.environ.get("TRIAGE_CHECK_TASK_TIME_LIMIT", "600"))
TRIAGE_REAP_MARGIN_SECONDS = int(os.environ.get("TRIAGE_REAP_MARGIN_SECONDS", "60"))
TRIAGE_CHECK_HEARTBEAT_SECONDS = float(os.environ.get("TRIAGE_CHECK_HEARTBEAT_SECONDS", "15"))
