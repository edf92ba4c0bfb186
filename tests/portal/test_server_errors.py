"""A failed transaction answers with a clear "nothing was saved" message, on pages and in the API."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import OperationalError
from django.test import Client, override_settings

from tests.conftest import Personas


@pytest.mark.django_db
def test_the_api_turns_a_database_error_into_the_contract_error_shape(users: Personas) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(users.bea)
    with mock.patch("schools.api.OrgUnitViewSet.list", side_effect=OperationalError("connection lost")):
        response = client.get("/api/v1/org-units/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 503
    assert response.json() == {
        "errors": {
            "non_field_errors": [
                "The server had a problem; nothing from this action was saved. Please try again later."
            ]
        }
    }


@pytest.mark.django_db
@override_settings(DEBUG=False)
def test_the_500_page_is_chinese_and_says_nothing_was_saved(users: Personas) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(users.alice)
    with mock.patch("notifications.views.render", side_effect=OperationalError("connection lost")):
        response = client.get("/")
    assert response.status_code == 500
    body = response.content.decode()
    assert "本次操作没有保存任何数据" in body
    assert "<h1>服务器错误</h1>" in body
