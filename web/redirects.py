"""Where a sign-in may send someone back to: a path on this site, and nothing else.

Browsers are generous with a ``Location``: they drop tabs and newlines (``/\\t/evil.example``
becomes ``//evil.example``, another site), read ``\\`` as ``/`` and take ``//host`` or
``https:`` as a new origin. So a target is kept only if it is a plain absolute path on this site:
it starts with a single ``/``, holds no control character, space or backslash (raw or
percent-encoded) and names no scheme or host. Anything else goes to the home page.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

MAX_TARGET = 2_000
_UNSAFE_SENT = re.compile(r"[\x00-\x20\x7f-\x9f\\]")  # as sent: not even a space
_UNSAFE_DECODED = re.compile(r"[\x00-\x1f\x7f-\x9f\\]")  # once decoded, %20 is a space


def _plain_path(text: str, unsafe: re.Pattern[str]) -> bool:
    if not text.startswith("/") or text.startswith("//") or unsafe.search(text):
        return False
    parts = urlsplit(text)
    return not parts.scheme and not parts.netloc


def safe_next(target: str | None, fallback: str) -> str:
    """``target`` if it is a path on this site (checked as sent and decoded), else ``fallback``."""
    if not target or len(target) > MAX_TARGET:
        return fallback
    if _plain_path(target, _UNSAFE_SENT) and _plain_path(unquote(target), _UNSAFE_DECODED):
        return target
    return fallback
