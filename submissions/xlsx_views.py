"""Pages of the Excel round-trip: download a template, upload it, see what was stored or refused."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from portal import scope
from portal.errors import ServiceError
from portal.middleware import accepts_uploads
from portal.scope import Perm
from portal.upload_safety import UploadLimitHandler
from portal.xlsx import XLSX_CONTENT_TYPE, ImportErrors
from schools.models import Level, OrgUnit
from submissions import xlsx
from submissions.forms import LabelSuffixMixin
from submissions.models import Period


class TemplateUploadForm(LabelSuffixMixin, forms.Form):
    period = forms.ModelChoiceField(
        label=gettext_lazy("填报周期"),
        queryset=Period.objects.order_by("-year", "-quarter"),
        to_field_name="code",
        help_text=gettext_lazy("模板必须是该周期下载的"),
    )
    file = forms.FileField(
        label=gettext_lazy("Excel 文件（.xlsx）"),
        help_text=gettext_lazy("请上传从本页下载并填好的模板"),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx"}),
    )


def _period_from(request: HttpRequest) -> Period | None:
    code = (request.GET.get("period") or "").strip()
    if code:
        period = Period.objects.filter(code=code).first()
        if period is None:
            raise Http404
        return period
    return Period.objects.current()


def _unit_from(request: HttpRequest) -> OrgUnit | None:
    code = (request.GET.get("unit") or "").strip()
    if not code:
        return None
    # Reads are 404 outside the user's scope: never reveal that another school's code exists.
    return scope.get_in_scope(request.user, OrgUnit.objects.all(), "", code=code)


def downloadable_units(user: object) -> list[OrgUnit]:
    """Units offered in the download picker: the user's own units and the districts/学区 in their scope."""
    in_scope = scope.scope_q(user, "", Perm.SUBMIT) | scope.scope_q(user, "", Perm.REVIEW)
    own = [grant.unit_id for grant in scope.grants(user)]
    return list(
        OrgUnit.objects.filter(in_scope, is_active=True)
        .filter(~Q(level=Level.SCHOOL) | Q(pk__in=own))
        .order_by("path")[:500]
    )


@login_required
@require_GET
def template_download(request: HttpRequest) -> HttpResponse:
    """``?period=2023Q2&unit=CODE``: the template for that unit's subtree (no unit: all the user's units)."""
    period = _period_from(request)
    if period is None:
        raise Http404
    # No unit: every unit the user may submit for or review (a principal of several schools).
    unit = _unit_from(request)
    try:
        content = xlsx.build_template(request.user, period, unit)
    except ServiceError as exc:
        for message_list in exc.errors.values():
            for message in message_list:
                messages.error(request, message)
        return redirect(reverse("submissions:template_upload") + f"?period={period.code}")
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"填报模板_{unit.code if unit else _('全部')}_{period.code}.xlsx"
    )
    return response


@accepts_uploads
@csrf_exempt
@login_required
def template_upload(request: HttpRequest) -> HttpResponse:
    # The size-limiting upload handler must be installed before anything reads the body, which
    # CSRF checking does; so CSRF is enforced by the inner view (Django's documented pattern).
    request.upload_handlers.insert(0, UploadLimitHandler(request))
    return _template_upload(request)


@csrf_protect
@require_http_methods(["GET", "POST"])
def _template_upload(request: HttpRequest) -> HttpResponse:
    unit = _unit_from(request)
    period = _period_from(request)
    context: dict[str, object] = {
        "unit": unit,
        "download_units": downloadable_units(request.user),
        "periods": Period.objects.order_by("-year", "-quarter"),
        "selected_period": period,
        "result": None,
        "problems": None,
    }
    status = 200
    if request.method == "POST":
        form = TemplateUploadForm(request.POST, request.FILES)
        if getattr(request, "upload_too_large", False):
            form.is_valid()
            form.errors.pop("file", None)
            form.add_error(
                "file",
                _("文件过大，上传上限为 %(limit).1f MB。") % {"limit": request.upload_handlers[0].limit / 1048576},
            )
            status = 400
        elif form.is_valid():
            try:
                result = xlsx.import_template(
                    form.cleaned_data["file"], user=request.user, period=form.cleaned_data["period"], unit=unit
                )
            except ImportErrors as exc:  # an unsafe file (UploadRejected) or located problems
                context["problems"] = exc.cell_errors
                status = exc.status_code
            else:
                context["result"] = result
                # An upload only saves: say so, or principals think the quarter is reported (issue 14).
                messages.success(
                    request,
                    _(
                        "导入成功，已保存为草稿：%(units)d 个单位共 %(values)d 个数值已保存，%(same)d 行没有变化。"
                        "草稿尚未提交，请核对后点击下方的“提交审核”。"
                    )
                    % {"units": len(result.saved), "values": result.values_changed, "same": result.unchanged},
                )
        else:
            status = 400
    else:
        form = TemplateUploadForm(initial={"period": period})
    context["form"] = form
    return render(request, "submissions/xlsx_upload.html", context, status=status)
