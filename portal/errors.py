"""Errors raised by service functions and translated by web views and the API alike."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.utils.translation import gettext_lazy as _


class ServiceError(Exception):
    """A rule refused the operation; nothing was written. ``errors`` maps a field or code to messages."""

    status_code = 400

    def __init__(self, errors: Mapping[str, Sequence[str]] | str) -> None:
        if isinstance(errors, str):
            errors = {"non_field_errors": [errors]}
        self.errors: dict[str, list[str]] = {key: [str(m) for m in messages] for key, messages in errors.items()}
        super().__init__(self.errors)


class VersionConflict(ServiceError):
    """The object changed since the caller read it (optimistic locking)."""

    status_code = 409

    def __init__(self, message: str | None = None) -> None:
        super().__init__({"version": [message or str(_("数据已被他人修改，请刷新后重试。"))]})


class StateError(ServiceError):
    """The requested workflow step is not allowed from the current state."""

    status_code = 409
