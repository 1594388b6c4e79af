"""The minutes as JSON: the document itself."""

from __future__ import annotations

import json


def render_json_minutes(doc: dict) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
