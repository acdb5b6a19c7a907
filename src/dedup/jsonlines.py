"""JSON lines: objects as UTF-8 lines, with lone surrogates kept as the escapes they were read from.

A JSON string may hold a lone surrogate (``"\\ud800"``), which UTF-8 cannot encode. The
command's outputs and reports, :meth:`dedup.Duplicates.write_jsonl` and the report page write
such text back as the same escape, so that nothing read is lost.
"""

from __future__ import annotations

import base64
import codecs
import datetime
import decimal
import json
from typing import Any

__all__ = ["escape_lone_surrogates", "has_surrogates", "json_line"]


def _escape_surrogates(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    bad = error.object[error.start : error.end]
    if not all(0xD800 <= ord(c) <= 0xDFFF for c in bad):
        raise error
    return "".join(f"\\u{ord(c):04x}" for c in bad), error.end


# JSON text from json.dumps(ensure_ascii=False) holds characters only inside strings, so a
# lone surrogate can be written back as the \uXXXX escape it was read from.
codecs.register_error("dedup.json-surrogates", _escape_surrogates)


def escape_lone_surrogates(json_text: str) -> str:
    """JSON text with every lone surrogate character written as its ``\\uXXXX`` escape.

    ``json.dumps(..., ensure_ascii=False)`` keeps a lone surrogate (valid in JSON, read
    from a ``"\\ud800"`` escape) as a character, which UTF-8 cannot encode; such characters
    stand only inside JSON strings, where the escape means the same.

    >>> escape_lone_surrogates('{"text": "\\ud800!"}')
    '{"text": "\\\\ud800!"}'
    """
    return json_text.encode("utf-8", "dedup.json-surrogates").decode("utf-8")


def json_line(obj: Any) -> bytes:
    """``obj`` as one UTF-8 JSON line; lone surrogates (valid in JSON) are kept as ``\\uXXXX`` escapes.

    >>> json_line({"id": "caf\\u00e9", "text": "\\ud800!"})
    b'{"id": "caf\\xc3\\xa9", "text": "\\\\ud800!"}\\n'
    """
    text = json.dumps(obj, ensure_ascii=False, default=_json_default)
    return (text + "\n").encode("utf-8", "dedup.json-surrogates")


def has_surrogates(text: str) -> bool:
    """Whether ``text`` holds a lone surrogate, which UTF-8 text (unlike JSON) cannot hold."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _json_default(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, (datetime.date, datetime.time, datetime.timedelta)):
        return value.isoformat() if hasattr(value, "isoformat") else str(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    return str(value)
