"""Data typed in two languages: the English text on English pages when there is one, else the Chinese.

Names and messages that bureau staff enter (a figure's name, a validation rule's message) have an optional
``*_en`` twin. Every page, the API's messages and the Excel files pick between them here, so "which language
does this text show in" is decided once.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import get_language


def english_page() -> bool:
    return (get_language() or "").split("-")[0] == "en"


def localized(obj: Any, field: str = "name") -> str:
    """``obj.<field>_en`` on English pages when it is filled in, else ``obj.<field>``."""
    if english_page():
        english = getattr(obj, f"{field}_en", "")
        if english:
            return str(english)
    return str(getattr(obj, field) or "")
