"""Passwords are stored with Argon2id at the OWASP parameters; older PBKDF2 hashes still log in and are upgraded.

The test settings use a fast MD5 hasher for speed; these tests put the production list back.
"""

from __future__ import annotations

import importlib

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import identify_hasher, make_password
from django.test import Client, override_settings

production = importlib.import_module("portal.settings")
PASSWORD = "correct-horse-battery-9"


@pytest.fixture
def production_hashers():
    with override_settings(PASSWORD_HASHERS=production.PASSWORD_HASHERS):
        yield


def test_new_passwords_are_argon2id_with_owasp_parameters(production_hashers: None) -> None:
    encoded = make_password(PASSWORD)
    # argon2$argon2id$v=19$m=19456,t=2,p=1$salt$hash
    algorithm, variety, version, params, *_ = encoded.split("$")
    assert (algorithm, variety) == ("argon2", "argon2id")
    assert dict(pair.split("=") for pair in params.split(",")) == {"m": "19456", "t": "2", "p": "1"}


@pytest.mark.django_db
def test_a_pbkdf2_password_still_logs_in_and_is_rehashed(production_hashers: None) -> None:
    user = get_user_model().objects.create(username="legacy")
    user.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
    user.save()
    assert identify_hasher(user.password).algorithm == "pbkdf2_sha256"

    response = Client().post("/accounts/login/", {"username": "legacy", "password": PASSWORD})

    assert response.status_code == 302
    user.refresh_from_db()
    assert identify_hasher(user.password).algorithm == "argon2"
    assert user.check_password(PASSWORD)
    assert not user.check_password(PASSWORD + "x")
