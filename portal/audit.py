"""The audit trail of configuration changes: who changed a figure, rule, period, indicator, org unit, membership,
plan structure or target, when, through which channel, and each tracked field's old → new value.

How it works:

- Each app registers its own models in ``AppConfig.ready`` with ``track(Model, fields=[...])`` (apps import
  portal, never the reverse). Registration connects ``pre_save`` (reads the stored row, only for tracked models
  and only when a tracked field may change), ``post_save`` (writes a ``ConfigChange`` when a tracked field
  changed; a save that changes nothing records nothing) and ``post_delete``.
- Who and through what: a context variable. ``AuditContextMiddleware`` sets it for each request (channel ``api``
  under /api/, ``admin`` under /admin/, else ``web``; the user is read from the request when a change is recorded,
  so a DRF token user counts too); Celery's ``task_prerun`` sets ``task``; ``acting(channel, user)`` sets it
  around a service (the plan workbook import says ``import``). Outside all of these — ``manage.py`` commands, the
  shell — the channel is ``command``.
- Queryset ``update``/``bulk_create`` skip model signals: the services that use them on tracked fields call
  ``record_bulk``. Demo loading and the synthetic dataset run inside ``suppressed()`` (seed data, not changes).
- Pages show the rows through ``{% config_history obj %}`` (``portal/templatetags/audit.py``): one query.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from portal.logs import request_id_var
from portal.models import AuditAction, AuditChannel, ConfigChange

logger = logging.getLogger(__name__)

# The attribute a pre_save leaves on the instance for its post_save: the tracked columns as stored.
OLD_VALUES_ATTRIBUTE = "_audit_old_values"
REPR_LENGTH = ConfigChange._meta.get_field("object_repr").max_length or 200
HISTORY_LIMIT = 50


@dataclass(frozen=True)
class Actor:
    """Who is changing things now: the channel, and the request (its user is read late) or a user id."""

    channel: str
    request: HttpRequest | None = None
    user_id: int | None = None

    def resolved_user_id(self) -> int | None:
        if self.user_id is not None:
            return self.user_id
        # DRF sets the authenticated user (token or session) on the Django request too, so this is read when the
        # change happens, not when the middleware ran (before DRF authenticated the token).
        user = getattr(self.request, "user", None) if self.request is not None else None
        if user is not None and getattr(user, "is_authenticated", False):
            return int(user.pk)
        return None


_actor: ContextVar[Actor | None] = ContextVar("audit_actor", default=None)
_suppressed: ContextVar[bool] = ContextVar("audit_suppressed", default=False)
_task_tokens: dict[str, Token[Actor | None]] = {}


def current_actor() -> Actor:
    """The actor of the code running now; ``command`` with no user outside a request or task."""
    return _actor.get() or Actor(AuditChannel.COMMAND)


@contextmanager
def acting(channel: str, user: Any = None) -> Iterator[None]:
    """Record changes made inside the block with ``channel`` (and ``user``, else the current request's user)."""
    outer = _actor.get()
    user_id = getattr(user, "pk", None)
    actor = Actor(
        channel,
        request=outer.request if outer is not None and user_id is None else None,
        user_id=user_id if user_id is not None else (outer.user_id if outer is not None else None),
    )
    token = _actor.set(actor)
    try:
        yield
    finally:
        _actor.reset(token)


@contextmanager
def suppressed() -> Iterator[None]:
    """Record nothing inside the block: seed data (the demo, the synthetic dataset) is not a change."""
    token = _suppressed.set(True)
    try:
        yield
    finally:
        _suppressed.reset(token)


def channel_for(request: HttpRequest) -> str:
    path = request.path_info
    if path.startswith("/api/"):
        return AuditChannel.API
    if path.startswith("/admin/"):
        return AuditChannel.ADMIN
    return AuditChannel.WEB


class AuditContextMiddleware:
    """Changes made while serving a request are recorded with the request's user and its channel."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _actor.set(Actor(channel_for(request), request=request))
        try:
            return self.get_response(request)
        finally:
            _actor.reset(token)


def _task_started(task_id: str | None = None, task: Any = None, **kwargs: object) -> None:
    outer = _actor.get()
    eager = bool(getattr(getattr(task, "request", None), "is_eager", False))
    # An eager task runs inside the request (or command) that called it: keep its user, say "task".
    actor = Actor(
        AuditChannel.TASK,
        request=outer.request if eager and outer is not None else None,
        user_id=outer.user_id if eager and outer is not None else None,
    )
    if task_id:
        _task_tokens[task_id] = _actor.set(actor)


def _task_finished(task_id: str | None = None, **kwargs: object) -> None:
    token = _task_tokens.pop(task_id, None) if task_id else None
    if token is not None:
        try:
            _actor.reset(token)
        except ValueError:  # set in another context (should not happen): fall back to "no actor"
            _actor.set(None)


def connect_task_signals() -> None:
    """Called from PortalConfig.ready (Celery's signals load with the apps)."""
    from celery.signals import task_postrun, task_prerun

    task_prerun.connect(_task_started, dispatch_uid="portal.audit.task_started", weak=False)
    task_postrun.connect(_task_finished, dispatch_uid="portal.audit.task_finished", weak=False)


# --- the registry -------------------------------------------------------------------------------------------------


def key_for(model: type[models.Model] | models.Model, pk: Any) -> str:
    """The ``root`` key of an object: ``"app_label.model:pk"``."""
    return f"{model._meta.label_lower}:{pk}"


@dataclass(frozen=True)
class Tracked:
    """A tracked model: its fields, whose page shows a change (``root``) and how the API finds an object."""

    model: type[models.Model]
    fields: tuple[models.Field[Any, Any], ...]
    root: Callable[[Any], str] | None = None
    by_name: dict[str, models.Field[Any, Any]] = field(default_factory=dict)
    api_name: str = ""
    lookup: tuple[str, ...] = ("code",)
    unit_field: str | None = None  # path to the OrgUnit that scopes the object ("" = the object is one)
    # Labels of list fields whose items are choices the model field cannot name (JSON lists of levels, types…).
    item_choices: dict[str, Any] = field(default_factory=dict)


_registry: dict[type[models.Model], Tracked] = {}


def track(
    model: type[models.Model],
    fields: Sequence[str],
    *,
    api_name: str,
    root: Callable[[Any], str] | None = None,
    lookup: Sequence[str] = ("code",),
    unit_field: str | None = None,
    item_choices: dict[str, Any] | None = None,
) -> None:
    """Record changes of ``fields`` of ``model``.

    ``root(instance)`` names the object whose page lists the change (``key_for``; by default the object itself).
    The audit API finds an object by ``?model=<api_name>&object=<lookup values joined by "/">``, and scopes it by
    ``unit_field`` (None: only bureau-wide administrators may read it). ``item_choices`` maps a JSON list field to
    the choices of its items, so the history shows 小学 rather than ``primary``."""
    concrete = tuple(model._meta.get_field(name) for name in fields)
    _registry[model] = Tracked(
        model,
        concrete,  # type: ignore[arg-type]
        root,
        {f.name: f for f in concrete},  # type: ignore[misc]
        api_name,
        tuple(lookup),
        unit_field,
        dict(item_choices or {}),
    )
    uid = model._meta.label_lower
    pre_save.connect(_pre_save, sender=model, dispatch_uid=f"portal.audit.pre_save.{uid}", weak=False)
    post_save.connect(_post_save, sender=model, dispatch_uid=f"portal.audit.post_save.{uid}", weak=False)
    post_delete.connect(_post_delete, sender=model, dispatch_uid=f"portal.audit.post_delete.{uid}", weak=False)


_M2M_OLD = "_audit_m2m_old"


def track_many(model: type[models.Model], name: str) -> None:
    """Record changes of the many-to-many field ``name`` of a tracked ``model`` (its related objects' names, old →
    new). ``m2m_changed`` is the only signal such a field sends: ``pre_*`` reads the old set, ``post_*`` writes."""
    through = getattr(model, name).through

    def changed(sender: Any, instance: models.Model, action: str, reverse: bool, **kwargs: Any) -> None:
        if reverse or _suppressed.get() or not isinstance(instance, model):
            return
        if action.startswith("pre_"):
            instance.__dict__[_M2M_OLD] = sorted(str(item)[:REPR_LENGTH] for item in getattr(instance, name).all())
            return
        old = instance.__dict__.pop(_M2M_OLD, None)
        if old is None or not action.startswith("post_"):
            return
        new = sorted(str(item)[:REPR_LENGTH] for item in getattr(instance, name).all())
        if new != old:
            _write([(instance, AuditAction.UPDATE, {name: [old, new]})])

    m2m_changed.connect(changed, sender=through, dispatch_uid=f"portal.audit.m2m.{model._meta.label_lower}.{name}",
                        weak=False)  # fmt: skip


def tracked_by_model(model: type[models.Model] | None) -> Tracked | None:
    return _registry.get(model) if model is not None else None


def tracked_by_api_name(name: str) -> Tracked | None:
    return next((tracked for tracked in _registry.values() if tracked.api_name == name), None)


def api_names() -> list[str]:
    return sorted(tracked.api_name for tracked in _registry.values())


def _comparable(model_field: models.Field[Any, Any], value: Any) -> Any:
    if isinstance(value, models.Model):
        return value.pk
    try:
        return model_field.to_python(value)
    except (ValidationError, TypeError, ValueError):
        return value


def json_safe(value: Any) -> Any:
    """A value as it is stored in ``changes``: JSON types as they are, Decimal and dates as strings."""
    if value is None or isinstance(value, bool | int | str | float):
        return value
    if isinstance(value, Decimal):
        # One spelling for one number: the database's 5000.0000 and a form's 5000 are both "5000".
        return format(value.normalize(), "f") if value.is_finite() else str(value)
    if isinstance(value, datetime.date | datetime.datetime | datetime.time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, models.Model):
        return str(value)[:REPR_LENGTH]
    return str(value)


def _related_name(model_field: models.Field[Any, Any], pk: Any, instance: models.Model | None = None) -> Any:
    """A foreign key's value as its object's name (read only when it changed)."""
    if pk is None:
        return None
    if instance is not None and model_field.is_cached(instance):  # type: ignore[attr-defined]
        cached = model_field.get_cached_value(instance)  # type: ignore[attr-defined]
        if cached is not None and cached.pk == pk:
            return str(cached)[:REPR_LENGTH]
    related = model_field.related_model._base_manager.filter(pk=pk).first()  # type: ignore[union-attr]
    return str(related)[:REPR_LENGTH] if related is not None else str(pk)


def _stored(model_field: models.Field[Any, Any], value: Any, instance: models.Model | None = None) -> Any:
    if model_field.is_relation:
        return _related_name(model_field, value.pk if isinstance(value, models.Model) else value, instance)
    return json_safe(value)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _fields_for(tracked: Tracked, update_fields: Iterable[str] | None) -> list[models.Field[Any, Any]]:
    if update_fields is None:
        return list(tracked.fields)
    wanted = set(update_fields)
    return [f for f in tracked.fields if f.name in wanted or f.attname in wanted]


def _pre_save(sender: type[models.Model], instance: models.Model, raw: bool = False, **kwargs: Any) -> None:
    instance.__dict__.pop(OLD_VALUES_ATTRIBUTE, None)
    if raw or _suppressed.get() or instance._state.adding or instance.pk is None:
        return
    fields = _fields_for(_registry[sender], kwargs.get("update_fields"))
    if not fields:
        return
    rows = sender._base_manager.filter(pk=instance.pk).order_by().values(*(f.attname for f in fields))[:1]
    stored = next(iter(rows), None)
    instance.__dict__[OLD_VALUES_ATTRIBUTE] = (fields, stored)


def _post_save(
    sender: type[models.Model], instance: models.Model, created: bool = False, raw: bool = False, **kwargs: Any
) -> None:
    if raw or _suppressed.get():
        return
    tracked = _registry[sender]
    if created:
        changes = {
            f.name: [None, _stored(f, value, instance)]
            for f in tracked.fields
            if not _empty(value := getattr(instance, f.attname))
        }
        _write([(instance, AuditAction.CREATE, changes)])
        return
    read = instance.__dict__.pop(OLD_VALUES_ATTRIBUTE, None)
    if read is None or read[1] is None:
        return
    fields, stored = read
    changes = {}
    for f in fields:
        old, new = stored[f.attname], getattr(instance, f.attname)
        if _comparable(f, old) != _comparable(f, new):
            changes[f.name] = [_stored(f, old), _stored(f, new, instance)]
    if changes:
        _write([(instance, AuditAction.UPDATE, changes)])


def _post_delete(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    if _suppressed.get():
        return
    changes = {}
    for f in _registry[sender].fields:
        value = getattr(instance, f.attname)
        if not _empty(value):
            # A foreign key of a deleted row may point at a row deleted in the same cascade: keep its id then.
            changes[f.name] = [_stored(f, value, instance) if not f.is_relation else _safe_related(f, value), None]
    _write([(instance, AuditAction.DELETE, changes)])


def _safe_related(model_field: models.Field[Any, Any], pk: Any) -> Any:
    try:
        return _related_name(model_field, pk)
    except Exception:  # noqa: BLE001 - a cascade half-done; the id is still worth keeping
        return str(pk)


def _write(entries: Sequence[tuple[models.Model, str, Mapping[str, Any]]]) -> None:
    if not entries:
        return
    actor = current_actor()
    user_id = actor.resolved_user_id()
    request_id = request_id_var.get()
    rows = []
    for instance, action, changes in entries:
        tracked = _registry.get(type(instance))
        root = tracked.root(instance) if tracked is not None and tracked.root is not None else None
        rows.append(
            ConfigChange(
                content_type=ContentType.objects.get_for_model(type(instance)),
                object_id=str(instance.pk),
                object_repr=str(instance)[:REPR_LENGTH],
                root=root or key_for(instance, instance.pk),
                action=action,
                changes=dict(changes),
                user_id=user_id,
                channel=actor.channel,
                request_id="" if request_id == "-" else request_id,
            )
        )
    ConfigChange.objects.bulk_create(rows)


def record_bulk(entries: Iterable[tuple[models.Model, Mapping[str, tuple[Any, Any]]]]) -> None:
    """Record changes written by a queryset ``update`` (which sends no signal): for each instance, the tracked
    fields it changed as ``{field: (old, new)}`` (values or related objects). Unchanged pairs are dropped; one
    insert for all."""
    if _suppressed.get():
        return
    rows = []
    for instance, changed in entries:
        tracked = _registry.get(type(instance))
        if tracked is None:
            continue
        changes = {}
        for name, (old, new) in changed.items():
            model_field = tracked.by_name.get(name)
            if model_field is None or _comparable(model_field, old) == _comparable(model_field, new):
                continue
            changes[name] = [_stored(model_field, old), _stored(model_field, new)]
        if changes:
            rows.append((instance, AuditAction.UPDATE, changes))
    _write(rows)


# --- reading ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldChange:
    label: str
    old: str
    new: str


@dataclass(frozen=True)
class HistoryRow:
    """A ConfigChange as a page shows it: labels and values in words."""

    change: ConfigChange
    fields: list[FieldChange]


def _label(model: type[models.Model] | None, name: str) -> str:
    if model is None:
        return name
    try:
        return str(getattr(model._meta.get_field(name), "verbose_name", name))
    except FieldDoesNotExist:
        return name


def _shown(model: type[models.Model] | None, name: str, value: Any) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return _("是") if value else _("否")
    model_field = None
    if model is not None:
        try:
            model_field = model._meta.get_field(name)
        except FieldDoesNotExist:
            pass
    choices = dict(getattr(model_field, "flatchoices", None) or [])
    tracked = tracked_by_model(model)
    if tracked is not None and name in tracked.item_choices:
        choices = dict(tracked.item_choices[name])
    if isinstance(value, list):
        return pgettext("list separator", "、").join(str(choices.get(item, item)) for item in value)
    return str(choices.get(value, value))


def describe(change: ConfigChange) -> HistoryRow:
    model = change.content_type.model_class()
    fields = [
        FieldChange(_label(model, name), _shown(model, name, pair[0]), _shown(model, name, pair[1]))
        for name, pair in (change.changes or {}).items()
        if isinstance(pair, list | tuple) and len(pair) == 2
    ]
    return HistoryRow(change, fields)


def history_for(obj: models.Model, limit: int = HISTORY_LIMIT) -> list[HistoryRow]:
    """The latest changes shown on ``obj``'s page (its own and its parts', see ``track``'s root): one query."""
    rows = (
        ConfigChange.objects.filter(root=key_for(obj, obj.pk))
        .select_related("user", "content_type")
        .order_by("-created_at", "-pk")[:limit]
    )
    return [describe(row) for row in rows]
