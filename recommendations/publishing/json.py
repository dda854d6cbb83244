import json


def render_json(document: dict) -> bytes:
    """The document as published: UTF-8, two-space indentation, a final newline."""
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
