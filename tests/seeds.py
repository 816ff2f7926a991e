"""Where the five seed guides live: ../shared/seeds beside the repository (as in CI), or TRIAGE_SEED_GUIDES."""

import os
from pathlib import Path

from django.conf import settings

SEED_DIR = Path(os.environ.get("TRIAGE_SEED_GUIDES") or settings.BASE_DIR.parent / "shared" / "seeds")
SEED_SYSTEMS = {
    "coordinaitor.md": ("CoordinAItor", "coordinaitor"),
    "orchestrator.md": ("Orchestrator", "orchestrator"),
    "claude-flow.md": ("Claude Flow", "claude-flow"),
    "ares.md": ("ARES", "ares"),
    "agent-factory.md": ("Agent Factory", "agent-factory"),
}


def seed_path(name: str) -> Path:
    path = SEED_DIR / name
    if not path.is_file():
        # Failing, not skipping: these tests are the importer's proof on real guides.
        raise FileNotFoundError(f"seed guide {path} not found; set TRIAGE_SEED_GUIDES to the folder holding them")
    return path
