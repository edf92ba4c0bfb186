"""Template side of ``portal.labels``: ``{{ field|label_tag }}`` and ``{% label_suffix %}``."""

from __future__ import annotations

from django import template
from django.forms import BoundField
from django.utils.safestring import SafeString

from portal.labels import label_suffix as suffix

register = template.Library()

# A label already ending in punctuation gets no suffix ("是否中心校？", "Note:").
ENDS_IN_PUNCTUATION = tuple(":?.!：？。！")


@register.filter
def label_tag(field: BoundField) -> SafeString:
    """``field.label_tag`` with the suffix of the current language."""
    label = str(field.label or "")
    return field.label_tag(label_suffix="" if label.endswith(ENDS_IN_PUNCTUATION) else suffix())


@register.simple_tag(name="label_suffix")
def label_suffix_tag() -> str:
    return suffix()
