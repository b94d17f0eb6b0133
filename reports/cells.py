"""Text from users, made safe to put in a spreadsheet or CSV cell.

Why: a supplier name or a payee typed as ``=HYPERLINK(...)`` or ``+61 2...`` is a formula to
Excel and LibreOffice when the file is opened (CSV injection). Any text that begins with one of
the trigger characters gets a leading apostrophe, which both programs show as plain text; the
rest of the text is kept as typed so the auditor still sees what was entered.
"""

from __future__ import annotations

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str | None) -> str:
    """``text`` as it will be read back, never a formula; ``None`` becomes the empty string."""
    if not text:
        return ""
    return f"'{text}" if text.startswith(TRIGGERS) else text
