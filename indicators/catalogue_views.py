"""The standard catalogue page: every entry with its formula and 口径说明; a bureau admin installs one per click."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from indicators import catalogue
from indicators.models import Indicator
from indicators.tables import formula_text
from portal import scope
from portal.errors import ServiceError
from portal.scope import Perm
from schools.models import SchoolType


@login_required
def catalogue_list(request: HttpRequest) -> HttpResponse:
    """Every catalogue entry, marked installed / installable / why not (anyone signed in may read it)."""
    loaded = catalogue.load()
    rows = [
        {
            "state": state,
            "formula": formula_text(Indicator(**state.entry.indicator_fields()))
            if state.entry.supported
            else f"{state.entry.aggregation}({state.entry.numerator} ÷ {state.entry.denominator})",
            "school_types": [str(SchoolType(code).label) for code in state.entry.unit_filter["school_types"]],
        }
        for state in catalogue.states(loaded)
    ]
    context = {"version": loaded.version, "rows": rows, "can_install": scope.has_perm(request.user, Perm.ADMIN)}
    return render(request, "indicators/catalogue.html", context)


@login_required
@require_POST
def catalogue_install(request: HttpRequest, code: str) -> HttpResponse:
    """Install one entry (bureau admin; 403 for anyone else) and come back to the list with the outcome."""
    try:
        result = catalogue.install_entry(code, request.user)
    except ServiceError as error:
        for message_list in error.errors.values():
            for message in message_list:
                messages.error(request, message)
        return redirect("indicators:catalogue")
    if result.changed:
        messages.success(
            request,
            _("已安装“{name}”：新建填报项 {count} 个{indicator}。").format(
                name=catalogue.load().entries[code].name,
                count=len(result.figures_created),
                indicator=_("，新建统计指标 1 个") if result.indicator_created else "",
            ),
        )
    else:
        messages.info(request, _("该指标已安装，未做更改。"))
    return redirect("indicators:catalogue")
