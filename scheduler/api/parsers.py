"""The one parser of request bodies: JSON, refused with a 400 when no record could hold it."""

from __future__ import annotations

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# The deepest body any endpoint takes is 3 levels (a doctor's `unavailable` list of objects); the
# margin keeps every later step (validation, error rendering) far from Python's recursion limit.
MAX_JSON_DEPTH = 16


class StrictJSONParser(JSONParser):
    """DRF's JSON parser, plus: a body nested too deeply (which made the decoder raise
    RecursionError, a 500) and strings holding an unpaired surrogate escape such as "\\ud800"
    (valid JSON, but not text DynamoDB or our own UTF-8 responses can carry) are 400s."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON parse error - the body is nested more than {MAX_JSON_DEPTH} levels deep.") from None
        except LookupError:  # a charset Python has no codec for
            raise ParseError("JSON parse error - unknown charset; send UTF-8.") from None
        problem = _shape_problem(data)
        if problem:
            raise ParseError(f"JSON parse error - {problem}")
        return data


def _shape_problem(data) -> str | None:
    """Why a decoded body cannot be taken, walking it without recursion (it may be 1,000 levels deep)."""
    pending = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            if _has_lone_surrogate(value):
                return "a string holds an unpaired UTF-16 surrogate escape (such as \\ud800); send valid Unicode text."
        elif isinstance(value, dict | list):
            if depth > MAX_JSON_DEPTH:
                return f"the body is nested more than {MAX_JSON_DEPTH} levels deep."
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str):
                    pending.append((key, depth))
                pending.append((item, depth + 1))
    return None


def _has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
