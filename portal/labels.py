"""The label suffix of every form and label/value pair: "部分：" in Chinese, "Section: " in English.

Django's default suffix is ``_(":")``, which its own Simplified Chinese catalogue leaves as an ASCII colon
("部分:"). Python forms get the suffix through ``LabelSuffixMixin``; templates through the ``label_tag``
filter and ``{% label_suffix %}`` tag of ``portal.templatetags.field_labels``. Both call ``label_suffix()``.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import pgettext


def label_suffix() -> str:
    # Translators: after a label, before its field or value: a full-width colon in Chinese, ": " in English.
    return pgettext("label suffix", "：")


class LabelSuffixMixin:
    """A form whose labels end with the page language's colon (see ``label_suffix``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", label_suffix())
        super().__init__(*args, **kwargs)
