"""`Content-Type: application/yaml` request bodies for the trees API."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, parsers

from accounts.parsers import request_size_check

from ..limits import MAX_YAML_BYTES


class YAMLTextParser(parsers.BaseParser):
    """`Content-Type: application/yaml`: the body is the tree's YAML document."""

    media_type = "application/yaml"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> dict:
        request_size_check(parser_context)
        data = stream.read(MAX_YAML_BYTES + 1) if stream is not None else b""
        if len(data) > MAX_YAML_BYTES:
            raise exceptions.ParseError(f"The YAML is larger than {MAX_YAML_BYTES // 1024} kB.")
        try:
            return {"yaml": data.decode("utf-8-sig")}
        except UnicodeDecodeError:
            raise exceptions.ParseError("The YAML is not UTF-8 text.") from None
