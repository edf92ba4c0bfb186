"""The label suffix ("部分：" in Chinese, "Section: " in English), in one place for every page template.

Django's default suffix is ``_(":")``, which its Simplified Chinese catalogue leaves as an ASCII colon
("部分:"). Templates print form labels with ``{{ field|label_tag }}`` and a label followed by its value
with ``{% label_suffix %}``; both take the suffix from ``suffix()``, translated per language.
"""

from __future__ import annotations

from django import template
from django.forms import BoundField
from django.utils.safestring import SafeString
from django.utils.translation import pgettext

register = template.Library()

# A label already ending in punctuation gets no suffix ("是否中心校？", "Note:").
ENDS_IN_PUNCTUATION = tuple(":?.!：？。！")


def suffix() -> str:
    # Translators: after a label, before its field or value: a full-width colon in Chinese, ": " in English.
    return pgettext("label suffix", "：")


@register.filter
def label_tag(field: BoundField) -> SafeString:
    """``field.label_tag`` with the suffix of the current language."""
    label = str(field.label or "")
    return field.label_tag(label_suffix="" if label.endswith(ENDS_IN_PUNCTUATION) else suffix())


@register.simple_tag(name="label_suffix")
def label_suffix_tag() -> str:
    return suffix()
