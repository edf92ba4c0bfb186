"""Pages: the to-do home, the notification list (mark read, mark all read) and the preferences form."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from notifications import chase, services, tasks, todo
from notifications.forms import PreferenceForm
from notifications.models import Notification
from portal import scope
from portal.scope import Perm
from schools.models import OrgUnit
from submissions.models import Period

logger = logging.getLogger(__name__)

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
        # Failed e-mails and chat posts, for those who administer: the portal rows were written regardless.
        "failures": services.recent_failures() if scope.has_perm(user, Perm.ADMIN) else None,
        "failure_days": services.FAILURE_WINDOW_DAYS,
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
    failures = services.recent_failures() if scope.has_perm(request.user, Perm.ADMIN) else None
    context = {
        "page": page,
        "unread_only": request.GET.get("unread") == "1",
        "failures": failures,
        "latest_failures": services.latest_failures() if failures else [],
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
    """催报 from the completeness board: ``unit`` (a code) chases one unit now; ``all`` counts the units in the
    user's review scope that have not submitted ``period`` and chases them in the background
    (``tasks.chase_all_task``; the requester is notified of the outcome). A unit outside the review scope is a
    403; each unit at most once a day (the others are named in a message). Back to the board of the period."""
    user: Any = request.user  # signed in (login_required)
    if not scope.has_perm(user, Perm.REVIEW):
        raise PermissionDenied
    period = get_object_or_404(Period, code=request.POST.get("period", ""))
    board = redirect(f"{reverse('submissions:completeness')}?period={period.code}")
    if request.POST.get("all"):
        _chase_all_in_background(request, user, period)
        return board
    unit = get_object_or_404(OrgUnit, code=request.POST.get("unit", ""))
    scope.require(user, Perm.REVIEW, unit)
    result = chase.chase(user, period, [unit])
    if result.sent:
        messages.success(
            request,
            _("已向 {n} 个单位的校长发送催报：{names}。").format(n=len(result.sent), names=chase.names(result.sent)),
        )
    if result.already:
        messages.warning(
            request, _("今天已催报过，明天才能再次催报：{names}。").format(names=chase.names(result.already))
        )
    if result.nobody:
        messages.warning(request, _("没有可接收催报的校长账号：{names}。").format(names=chase.names(result.nobody)))
    if result.done:
        messages.info(request, _("已提交，无需催报：{names}。").format(names=chase.names(result.done)))
    return board


def _chase_all_in_background(request: HttpRequest, user: Any, period: Period) -> None:
    """Count the units to chase (one query) and enqueue the job; a broker that is down is said, never a 500."""
    count = chase.chaseable_units(user, period).count()
    if not count:
        messages.info(request, _("范围内没有未提交的单位。"))
        return
    try:
        tasks.chase_all_task.delay(user.pk, period.pk, timezone.localdate().isoformat())
    except Exception:  # noqa: BLE001  (any broker failure: nothing was sent, the reviewer may try again)
        logger.warning("broker unavailable; chase of all units in %s not started", period.code, exc_info=True)
        messages.error(request, _("后台催报暂时无法启动，请稍后再试。"))
        return
    messages.success(request, _("已在后台催报 {n} 个单位，完成后会在通知中告诉您结果。").format(n=count))
