"""The demo organisation: a fictional city bureau with 7 districts/towns and ~330 schools and kindergartens.

Deterministic (seeded) and idempotent: units are matched by code, so a second run changes nothing.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass
from typing import TextIO

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction

from schools.models import (
    Designation,
    DesignationKind,
    DesignationLevel,
    Level,
    Membership,
    OrgUnit,
    Ownership,
    Role,
    SchoolType,
)

# The demo log-ins' password, printed by `make run` on purpose (demo data only, never production users).
DEMO_PASSWORD = "demo-password-2023"  # nosec B105
CN_NUMERALS = "一二三四五六七八九十"


def cn_number(n: int) -> str:
    """1 → 一, 12 → 十二, 20 → 二十, 35 → 三十五 (enough for school names)."""
    if n <= 10:
        return CN_NUMERALS[n - 1]
    tens, ones = divmod(n, 10)
    head = "" if tens == 1 else CN_NUMERALS[tens - 1]
    return head + "十" + (CN_NUMERALS[ones - 1] if ones else "")


@dataclass(frozen=True)
class Area:
    code: str
    name: str
    name_en: str
    level: str
    parent: str


# Three urban districts with two 学区 each, and four towns directly under the bureau.
AREAS = [
    Area("D01", "东城区", "Dongcheng District", Level.DISTRICT, "CITY"),
    Area("D02", "西城区", "Xicheng District", Level.DISTRICT, "CITY"),
    Area("D03", "南湖区", "Nanhu District", Level.DISTRICT, "CITY"),
    Area("D04", "柳城镇", "Liucheng Town", Level.TOWNSHIP, "CITY"),
    Area("D05", "梅山镇", "Meishan Town", Level.TOWNSHIP, "CITY"),
    Area("D06", "青石镇", "Qingshi Town", Level.TOWNSHIP, "CITY"),
    Area("D07", "白沙镇", "Baisha Town", Level.TOWNSHIP, "CITY"),
    Area("D01-X1", "东城第一学区", "Dongcheng Zone 1", Level.TOWNSHIP, "D01"),
    Area("D01-X2", "东城第二学区", "Dongcheng Zone 2", Level.TOWNSHIP, "D01"),
    Area("D02-X1", "西城第一学区", "Xicheng Zone 1", Level.TOWNSHIP, "D02"),
    Area("D02-X2", "西城第二学区", "Xicheng Zone 2", Level.TOWNSHIP, "D02"),
    Area("D03-X1", "南湖第一学区", "Nanhu Zone 1", Level.TOWNSHIP, "D03"),
    Area("D03-X2", "南湖第二学区", "Nanhu Zone 2", Level.TOWNSHIP, "D03"),
]
SCHOOL_PARENTS = ["D01-X1", "D01-X2", "D02-X1", "D02-X2", "D03-X1", "D03-X2", "D04", "D05", "D06", "D07"]
KG_ADJECTIVES = "阳光 春苗 童心 向日葵 小太阳 育才 启明 蓝天 彩虹 金色 星星 博雅 晨曦 爱心 快乐".split()

DESIGNATION_KINDS = [
    ("standard_kg", "标准化幼儿园", "Standardised kindergarten"),
    ("model_kg", "示范幼儿园", "Model kindergarten"),
    ("standard_school", "义务教育管理标准化学校", "Standardised compulsory-education school"),
]

DEMO_USERS = [
    # username, role, unit code (filled below for schools), full name
    ("admin", Role.BUREAU_ADMIN, "CITY", "教育局管理员"),
    ("reviewer", Role.REVIEWER, "D01", "东城区审核员"),
    ("principal", Role.PRINCIPAL, None, "东城中心小学校长"),
    ("kgprincipal", Role.PRINCIPAL, None, "东城幼儿园园长"),
    ("inspector", Role.INSPECTOR, "CITY", "市督学"),
]


def _unit(code: str, defaults: dict[str, object]) -> OrgUnit:
    unit, created = OrgUnit.objects.get_or_create(code=code, defaults=defaults)
    if not created:
        changed = [key for key, value in defaults.items() if getattr(unit, key) != value]
        if changed:
            for key in changed:
                setattr(unit, key, defaults[key])
            unit.save()
    return unit


def _school_specs(rng: random.Random) -> list[dict[str, object]]:
    """Plan every school of the demo, deterministically, before touching the database."""
    specs: list[dict[str, object]] = []
    for parent_code in SCHOOL_PARENTS:
        area = next(a for a in AREAS if a.code == parent_code)
        place = area.name.replace("第一学区", "").replace("第二学区", "").replace("区", "").replace("镇", "")
        if parent_code.endswith("X2"):
            place += "二片"
        seq = 0

        def add(
            name: str,
            school_type: str,
            ownership: str = Ownership.PUBLIC,
            is_central: bool = False,
            parent_code: str = parent_code,
        ) -> None:
            nonlocal seq
            seq += 1
            prefix = {"kindergarten": "K", "primary": "P", "junior": "J", "nine_year": "N", "special": "S"}[school_type]
            specs.append(
                {
                    "code": f"{parent_code}-{prefix}{seq:03d}",
                    "name": name,
                    "parent": parent_code,
                    "school_type": school_type,
                    "ownership": ownership,
                    "is_central": is_central,
                }
            )

        add(f"{place}中心小学", SchoolType.PRIMARY, is_central=True)
        for n in range(1, rng.randint(11, 14)):
            add(
                f"{place}第{cn_number(n)}小学",
                SchoolType.PRIMARY,
                Ownership.PRIVATE if rng.random() < 0.06 else Ownership.PUBLIC,
            )
        add(f"{place}中心幼儿园", SchoolType.KINDERGARTEN)
        for n in range(1, rng.randint(15, 18)):
            roll = rng.random()
            ownership = (
                Ownership.PUBLIC if roll < 0.45 else Ownership.INCLUSIVE_PRIVATE if roll < 0.8 else Ownership.PRIVATE
            )
            adjective = KG_ADJECTIVES[(n - 1) % len(KG_ADJECTIVES)]
            suffix = "" if n <= len(KG_ADJECTIVES) else cn_number(n // len(KG_ADJECTIVES) + 1)
            add(f"{place}{adjective}{suffix}幼儿园", SchoolType.KINDERGARTEN, ownership)
        for n in range(1, rng.randint(2, 4)):
            add(f"{place}第{cn_number(n)}初级中学", SchoolType.JUNIOR)
        if rng.random() < 0.5:
            add(f"{place}九年一贯制学校", SchoolType.NINE_YEAR)
    # The city's own special-education school and the new 第五小学 of the plan's milestone.
    specs.append(
        {
            "code": "CITY-S001",
            "name": "市特殊教育学校",
            "parent": "CITY",
            "school_type": SchoolType.SPECIAL,
            "ownership": Ownership.PUBLIC,
            "is_central": False,
        }
    )
    specs.append(
        {
            "code": "D01-X1-P099",
            "name": "市第五小学",
            "parent": "D01-X1",
            "school_type": SchoolType.PRIMARY,
            "ownership": Ownership.PUBLIC,
            "is_central": False,
        }
    )
    return specs


@transaction.atomic
def load(stdout: TextIO | None = None) -> dict[str, int]:
    # Reproducible demo figures; nothing secret is drawn from it.
    rng = random.Random(2023)  # nosec B311
    city = _unit(
        "CITY",
        {"name": "市教育局", "name_en": "City Education Bureau", "level": Level.BUREAU, "parent": None},
    )
    units = {"CITY": city}
    for area in AREAS:
        units[area.code] = _unit(
            area.code,
            {"name": area.name, "name_en": area.name_en, "level": area.level, "parent": units[area.parent]},
        )
    existing = {u.code: u for u in OrgUnit.objects.filter(level=Level.SCHOOL)}
    created = 0
    for spec in _school_specs(rng):
        defaults = {key: value for key, value in spec.items() if key not in {"code", "parent"}}
        defaults.update(level=Level.SCHOOL, parent=units[str(spec["parent"])])
        if spec["code"] in existing:
            unit = existing[str(spec["code"])]
            if any(getattr(unit, key) != value for key, value in defaults.items()):
                _unit(str(spec["code"]), defaults)
        else:
            OrgUnit.objects.create(code=str(spec["code"]), **defaults)
            created += 1

    kinds = {
        code: DesignationKind.objects.update_or_create(code=code, defaults={"name": name, "name_en": name_en})[0]
        for code, name, name_en in DESIGNATION_KINDS
    }
    _load_designations(kinds, rng)
    _load_users()
    total = OrgUnit.objects.filter(level=Level.SCHOOL).count()
    if stdout:
        stdout.write(f"schools: {total} schools and kindergartens ({created} new), {len(AREAS)} districts/学区\n")
    return {"schools": total, "created": created}


def _load_designations(kinds: dict[str, DesignationKind], rng: random.Random) -> None:
    """Some designations before the plan year (baseline) and some granted during 2023 (they count)."""
    kgs = list(OrgUnit.objects.filter(school_type=SchoolType.KINDERGARTEN, ownership=Ownership.PUBLIC).order_by("code"))
    primaries = list(OrgUnit.objects.filter(school_type=SchoolType.PRIMARY).order_by("code"))
    grants = []
    for unit in rng.sample(kgs, 12):
        grants.append((unit, kinds["standard_kg"], DesignationLevel.CITY, datetime.date(2021, 9, 1)))
    for unit, day in zip(rng.sample(kgs, 2), [datetime.date(2023, 4, 18), datetime.date(2023, 9, 26)], strict=True):
        grants.append((unit, kinds["standard_kg"], DesignationLevel.CITY, day))
    # 示范园 at two levels: the November one is provincial, so "省级示范园" (designations_province_model_kg) counts 1.
    model_levels = [DesignationLevel.CITY, DesignationLevel.PROVINCE]
    model_days = [datetime.date(2023, 6, 2), datetime.date(2023, 11, 8)]
    for unit, day, level in zip(rng.sample(kgs, 2), model_days, model_levels, strict=True):
        grants.append((unit, kinds["model_kg"], level, day))
    quarters = [
        datetime.date(2023, 3, 20),
        datetime.date(2023, 6, 15),
        datetime.date(2023, 9, 28),
        datetime.date(2023, 12, 5),
    ]
    for i, unit in enumerate(rng.sample(primaries, 17)):
        grants.append((unit, kinds["standard_school"], DesignationLevel.PROVINCE, quarters[i % 4]))
    for unit, kind, level, granted_on in grants:
        Designation.objects.get_or_create(org_unit=unit, kind=kind, granted_on=granted_on, defaults={"level": level})


def demo_user_units() -> dict[str, str]:
    """Which unit each demo user belongs to (the principals get a D01 central school and kindergarten)."""
    central = OrgUnit.objects.filter(code__startswith="D01-X1", is_central=True).order_by("code").first()
    kg = OrgUnit.objects.filter(code__startswith="D01-X1", school_type=SchoolType.KINDERGARTEN).order_by("code").first()
    mapping = {}
    for username, _role, code, _name in DEMO_USERS:
        if code is None:
            code = (central if username == "principal" else kg).code  # type: ignore[union-attr]
        mapping[username] = code
    return mapping


ADMIN_GROUP = "教育局管理员"
ADMIN_APPS = ["schools", "plans", "submissions", "targets", "reports", "auth"]


def bureau_admin_group() -> Group:
    """A group holding every model permission of the portal's apps, for bureau admins in Django admin."""
    group, _ = Group.objects.get_or_create(name=ADMIN_GROUP)
    wanted = set(Permission.objects.filter(content_type__app_label__in=ADMIN_APPS).values_list("pk", flat=True))
    if set(group.permissions.values_list("pk", flat=True)) != wanted:
        group.permissions.set(wanted)
    return group


def _load_users() -> None:
    user_model = get_user_model()
    units = demo_user_units()
    admin_group = bureau_admin_group()
    for username, role, _code, full_name in DEMO_USERS:
        user, created = user_model.objects.get_or_create(
            username=username, defaults={"first_name": full_name, "email": f"{username}@demo.example.org"}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.is_staff = role == Role.BUREAU_ADMIN
            user.is_superuser = False
            user.save()
        Membership.objects.get_or_create(user=user, org_unit=OrgUnit.objects.get(code=units[username]), role=role)
        if role == Role.BUREAU_ADMIN:
            user.groups.add(admin_group)


def demo_logins() -> list[tuple[str, str, str]]:
    units = demo_user_units()
    names = dict(OrgUnit.objects.filter(code__in=units.values()).values_list("code", "name"))
    return [(username, str(role.label), names.get(units[username], "")) for username, role, _c, _n in DEMO_USERS]
