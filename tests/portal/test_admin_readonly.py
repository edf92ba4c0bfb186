"""Django admin shows the models that carry rules but never edits them: an edit there would skip the services
(formula check, recompute, history). Even a superuser gets 403 on their add and change forms."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

READ_ONLY = [
    "indicators/indicator",
    "indicators/indicatorvalue",
    "indicators/pendingrecompute",
    "targets/target",
    "submissions/figure",
    "submissions/validationrule",
    "submissions/period",
]


@pytest.fixture
def superuser_client() -> Client:
    user = get_user_model().objects.create_superuser("root", "root@example.org", "pw-for-tests")
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("model", READ_ONLY)
def test_rule_models_are_listed_but_not_added_in_admin(superuser_client: Client, model: str) -> None:
    assert superuser_client.get(f"/admin/{model}/").status_code == 200
    assert superuser_client.get(f"/admin/{model}/add/").status_code == 403
    response = superuser_client.post(f"/admin/{model}/add/", {"code": "x", "name": "x", "numerator": "1/0"})
    assert response.status_code == 403


@pytest.mark.django_db
def test_an_indicator_cannot_be_changed_in_admin(superuser_client: Client) -> None:
    from indicators.models import Indicator

    indicator = Indicator.objects.create(code="rate", name="入园率", numerator="1")
    response = superuser_client.post(f"/admin/indicators/indicator/{indicator.pk}/change/", {"numerator": "bad +"})
    assert response.status_code == 403
    indicator.refresh_from_db()
    assert indicator.numerator == "1"
