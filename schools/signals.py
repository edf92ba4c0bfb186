"""Account side effects: a changed password revokes the user's API token."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models.signals import post_save
from django.dispatch import receiver
from rest_framework.authtoken.models import Token


@receiver(post_save, sender=get_user_model())
def revoke_tokens_on_password_change(sender: type, instance: Any, created: bool, **kwargs: Any) -> None:
    """Delete the user's API token when the password was set (``set_password`` then ``save``).

    ``AbstractBaseUser.set_password`` keeps the new raw password in ``_password`` until the save
    completes — the hook Django's own password validators use. A hash upgrade at log-in (the same
    password rehashed with Argon2id) clears it first, so it does not revoke anything. Covers the
    password-change page, the admin, password reset and ``manage.py changepassword`` alike.
    """
    if created or getattr(instance, "_password", None) is None:
        return
    Token.objects.filter(user=instance).delete()
