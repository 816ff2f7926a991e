"""`application/yaml` responses: a tree's YAML as it is, anything else dumped as YAML."""

from __future__ import annotations

from typing import Any

from rest_framework import renderers

from ..yaml_io import yaml_dump


class YAMLTextRenderer(renderers.BaseRenderer):
    media_type = "application/yaml"
    format = "yaml"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: dict | None = None) -> bytes:
        text = data if isinstance(data, str) else yaml_dump(data if isinstance(data, dict) else {"data": data})
        return text.encode("utf-8")
