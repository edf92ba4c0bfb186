"""Shared fixtures: a small organisation tree and one named user per persona.

Tree (codes):  CITY (bureau)
               ├── D1 区 (district) ── T1 学区 (township) ── S1 (central primary), S2 (primary), K1 (kindergarten)
               └── D2 区 (district) ── S3 (primary), K2 (kindergarten)

Personas: alice = principal of S1, bob = principal of S3, kate = kindergarten principal of K1,
rita = reviewer of D1, rob = reviewer of D2, ivan = inspector of CITY, bea = bureau admin of CITY,
nobody = signed in with no role.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User

from schools.models import Level, Membership, OrgUnit, Ownership, Role, SchoolType

PASSWORD = "correct-horse-battery-staple"


def make_unit(code: str, name: str, level: str, parent: OrgUnit | None = None, **extra: object) -> OrgUnit:
    return OrgUnit.objects.create(code=code, name=name, level=level, parent=parent, **extra)


def make_user(username: str, unit: OrgUnit | None = None, role: str | None = None) -> User:
    user = get_user_model().objects.create_user(username=username, password=PASSWORD, email=f"{username}@example.org")
    if unit is not None and role is not None:
        Membership.objects.create(user=user, org_unit=unit, role=role)
    return user


@dataclass
class Tree:
    city: OrgUnit
    d1: OrgUnit
    d2: OrgUnit
    t1: OrgUnit
    s1: OrgUnit
    s2: OrgUnit
    k1: OrgUnit
    s3: OrgUnit
    k2: OrgUnit


@pytest.fixture
def tree(db: None) -> Tree:
    city = make_unit("CITY", "市教育局", Level.BUREAU)
    d1 = make_unit("D1", "东区", Level.DISTRICT, city)
    d2 = make_unit("D2", "西区", Level.DISTRICT, city)
    t1 = make_unit("T1", "东区第一学区", Level.TOWNSHIP, d1)
    school = {"level": Level.SCHOOL, "ownership": Ownership.PUBLIC}
    s1 = make_unit("S1", "东区中心小学", parent=t1, school_type=SchoolType.PRIMARY, is_central=True, **school)
    s2 = make_unit("S2", "东区第二小学", parent=t1, school_type=SchoolType.PRIMARY, **school)
    k1 = make_unit("K1", "东区第一幼儿园", parent=t1, school_type=SchoolType.KINDERGARTEN, **school)
    s3 = make_unit("S3", "西区实验小学", parent=d2, school_type=SchoolType.PRIMARY, **school)
    k2 = make_unit(
        "K2",
        "西区阳光幼儿园",
        parent=d2,
        school_type=SchoolType.KINDERGARTEN,
        level=Level.SCHOOL,
        ownership=Ownership.INCLUSIVE_PRIVATE,
    )
    return Tree(city=city, d1=d1, d2=d2, t1=t1, s1=s1, s2=s2, k1=k1, s3=s3, k2=k2)


@dataclass
class Personas:
    alice: User  # principal of S1
    bob: User  # principal of S3
    kate: User  # kindergarten principal of K1
    rita: User  # reviewer of D1
    rob: User  # reviewer of D2
    ivan: User  # inspector of CITY
    bea: User  # bureau admin of CITY
    nobody: User  # no role


@pytest.fixture
def users(tree: Tree) -> Personas:
    return Personas(
        alice=make_user("alice", tree.s1, Role.PRINCIPAL),
        bob=make_user("bob", tree.s3, Role.PRINCIPAL),
        kate=make_user("kate", tree.k1, Role.PRINCIPAL),
        rita=make_user("rita", tree.d1, Role.REVIEWER),
        rob=make_user("rob", tree.d2, Role.REVIEWER),
        ivan=make_user("ivan", tree.city, Role.INSPECTOR),
        bea=make_user("bea", tree.city, Role.BUREAU_ADMIN),
        nobody=make_user("nobody"),
    )


# The deep lane (`make test-all`, what CI runs): fuzzing, fault injection, concurrency and schema fuzzing.
# One place says what is deep, by where a test lives; `make test` (the fast lane) deselects `-m deep`.
DEEP_TESTS = (
    "tests/fuzz/",
    "tests/faults/",
    "tests/concurrency/",
    "tests/api_contract/test_schemathesis.py::test_every_operation_answers_without_5xx_and_as_documented",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test under ``DEEP_TESTS`` as ``deep`` (the contract smoke tests beside the fuzzer stay fast)."""
    for item in items:
        if item.nodeid.startswith(DEEP_TESTS):
            item.add_marker(pytest.mark.deep)


@pytest.fixture(autouse=True)
def _celery_joins_allowed() -> Iterator[None]:
    """Each test starts outside any task, whatever an earlier test's threads left behind.

    An eager task marks the process as "inside a task" while it runs and restores the mark it found when done. The
    concurrency tests run recomputes in threads, and their after-commit tasks (the window rows) then run eagerly at
    once on two threads: the second saves the first's mark and restores it last, so the process stays marked and a
    later test's ``result.get()`` is refused ("Never call result.get() within a task"). Workers are not eager: this
    is the test harness only."""
    yield
    from celery._state import _set_task_join_will_block

    _set_task_join_will_block(False)


@pytest.fixture(autouse=True)
def _chinese_by_default() -> None:
    """Each test starts in the default language, whatever an earlier test activated in this thread."""
    from django.utils import translation

    translation.activate("zh-hans")
