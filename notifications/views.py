"""Pages: the to-do home, the notification list (mark read, mark all read) and the preferences form."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from notifications import chase, services, todo
from notifications.forms import PreferenceForm
from notifications.models import Notification
from portal import scope
from portal.scope import Perm
from schools.models import OrgUnit
from submissions.models import Period

PAGE_SIZE = 50
HOME_NOTIFICATIONS = 5


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The to-do home of each role, with the latest unread notifications."""
    user: Any = request.user  # signed in (login_required)
    context = {
        "memberships": scope.memberships(user),
        "todo": todo.for_user(user),
        "latest": list(Notification.objects.filter(user=user, read_at__isnull=True)[:HOME_NOTIFICATIONS]),
    }
    return render(request, "portal/home.html", context)


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    """The user's own notifications, newest first; admins also see how many deliveries failed lately."""
    user: Any = request.user  # signed in (login_required)
    rows = Notification.objects.filter(user=user)
    if request.GET.get("unread") == "1":
        rows = rows.filter(read_at__isnull=True)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "unread_only": request.GET.get("unread") == "1",
        "failures": services.recent_failures() if scope.has_perm(request.user, Perm.ADMIN) else None,
        "failure_days": services.FAILURE_WINDOW_DAYS,
        "title": _("通知"),
    }
    return render(request, "notifications/notification_list.html", context)


@login_required
@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one notification read and go where it points (``open``) or back to the list."""
    try:
        notification = services.mark_read(request.user, pk)
    except Notification.DoesNotExist:
        return redirect("notifications:list")
    target = notification.url if request.POST.get("open") else ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("notifications:list")


@login_required
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    count = services.mark_all_read(request.user)
    messages.success(request, _("已将 {n} 条通知标为已读。").format(n=count))
    return redirect("notifications:list")


@login_required
def preferences(request: HttpRequest) -> HttpResponse:
    preference = services.preference_for(request.user)
    form = PreferenceForm(request.POST or None, instance=preference)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("通知设置已保存。"))
        return redirect("notifications:preferences")
    return render(request, "notifications/preferences.html", {"form": form, "title": _("通知设置")})


@login_required
@require_POST
def chase_units(request: HttpRequest) -> HttpResponse:
    """催报 from the completeness board: ``unit`` (a code) chases one unit, ``all`` every unit in the user's review
    scope that has not submitted ``period``. A unit outside the review scope is a 403; each unit at most once a
    day (the others are named in a message). Back to the board of the period."""
    user: Any = request.user  # signed in (login_required)
    if not scope.has_perm(user, Perm.REVIEW):
        raise PermissionDenied
    period = get_object_or_404(Period, code=request.POST.get("period", ""))
    if request.POST.get("all"):
        units = list(chase.chaseable_units(user, period))
    else:
        unit = get_object_or_404(OrgUnit, code=request.POST.get("unit", ""))
        scope.require(user, Perm.REVIEW, unit)
        units = [unit]
    result = chase.chase(user, period, units)
    if result.sent:
        messages.success(
            request, _("已向 {n} 个单位的校长发送催报：{names}。").format(n=len(result.sent), names=_names(result.sent))
        )
    if result.already:
        messages.warning(request, _("今天已催报过，明天才能再次催报：{names}。").format(names=_names(result.already)))
    if result.nobody:
        messages.warning(request, _("没有可接收催报的校长账号：{names}。").format(names=_names(result.nobody)))
    if result.done:
        messages.info(request, _("已提交，无需催报：{names}。").format(names=_names(result.done)))
    if not units:
        messages.info(request, _("范围内没有未提交的单位。"))
    return redirect(f"{reverse('submissions:completeness')}?period={period.code}")


NAMES_SHOWN = 10


def _names(units: list[OrgUnit]) -> str:
    """Unit names for a message; a long list is cut with the count of the rest."""
    names = "、".join(unit.name for unit in units[:NAMES_SHOWN])
    if len(units) > NAMES_SHOWN:
        names += _("等 {n} 个").format(n=len(units))
    return names
