"""The project's base table; app tables subclass it and inherit its Meta."""

from __future__ import annotations

import django_tables2 as tables
from django.utils.translation import gettext_lazy as _


class BaseTable(tables.Table):
    class Meta:
        attrs = {"class": "table"}
        template_name = "includes/table.html"
        empty_text = _("暂无数据")
        per_page = 50
