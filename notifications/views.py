"""Pages: the to-do home, the notification list (mark read, mark all read) and the preferences form."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from notifications import services, todo
from notifications.forms import PreferenceForm
from notifications.models import Notification
from portal import scope
from portal.scope import Perm

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
