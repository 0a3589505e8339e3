"""Text hygiene shared by every free-text input."""

from __future__ import annotations

import unicodedata

_KEEP = {"\n", "\t"}


def clean_text(raw: str | None, keep_newlines: bool = True) -> str:
    """Control characters removed (newlines and tabs kept for essays), Unicode normalised to NFC,
    surrounding white space trimmed."""
    if raw is None:
        return ""
    text = unicodedata.normalize("NFC", raw)
    kept = "".join(
        ch
        for ch in text
        if (ch in _KEEP and keep_newlines) or unicodedata.category(ch) not in ("Cc", "Cs")
    )
    return kept.strip()
