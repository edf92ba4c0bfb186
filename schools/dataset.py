"""Deterministic synthetic organisation trees for benchmarks (``generate_dataset``)."""

from __future__ import annotations

import random
from collections.abc import Sequence

from django.db import transaction

from schools.models import Level, OrgUnit, Ownership, SchoolType, path_segment

ROOT_CODE = "GEN"
# Realistic mix of a Chinese county's units (kindergartens outnumber primary schools).
TYPE_WEIGHTS = [
    (SchoolType.KINDERGARTEN, 0.48),
    (SchoolType.PRIMARY, 0.38),
    (SchoolType.JUNIOR, 0.09),
    (SchoolType.NINE_YEAR, 0.04),
    (SchoolType.SPECIAL, 0.01),
]
SCHOOLS_PER_TOWNSHIP = 40
TOWNSHIPS_PER_DISTRICT = 12


def _pick(rng: random.Random, weights: Sequence[tuple[str, float]]) -> str:
    roll = rng.random()
    for value, weight in weights:
        roll -= weight
        if roll < 0:
            return value
    return weights[-1][0]


@transaction.atomic
def generate(units: int, seed: int) -> dict[str, int]:
    """Create a tree of about ``units`` org units under a root "GEN" bureau, with bulk inserts.

    Levels are created top-down with ``bulk_create`` (which returns primary keys on SQLite and
    PostgreSQL), then the materialized paths are written with one ``bulk_update`` per level.
    """
    if OrgUnit.objects.filter(code=ROOT_CODE).exists():
        raise ValueError(f"a generated tree ({ROOT_CODE}) already exists; use a fresh database")
    # Reproducible synthetic tree; nothing secret is drawn from it.
    rng = random.Random(seed)  # nosec B311
    schools = max(units - 1, 1)
    townships = max(1, round(schools / SCHOOLS_PER_TOWNSHIP))
    districts = max(1, round(townships / TOWNSHIPS_PER_DISTRICT))
    schools -= townships + districts

    root = OrgUnit.objects.create(code=ROOT_CODE, name="合成教育局", level=Level.BUREAU)

    def create_level(rows: list[OrgUnit]) -> list[OrgUnit]:
        created = OrgUnit.objects.bulk_create(rows, batch_size=2000)
        for row in created:
            row.path = row.parent.path + path_segment(row.pk)  # type: ignore[union-attr]
            row.depth = row.parent.depth + 1  # type: ignore[union-attr]
        OrgUnit.objects.bulk_update(created, ["path", "depth"], batch_size=2000)
        return created

    district_rows = create_level(
        [OrgUnit(code=f"GEN-D{d:03d}", name=f"合成区{d}", level=Level.DISTRICT, parent=root) for d in range(districts)]
    )
    township_rows = create_level(
        [
            OrgUnit(
                code=f"GEN-T{t:04d}",
                name=f"合成学区{t}",
                level=Level.TOWNSHIP,
                parent=district_rows[t % districts],
            )
            for t in range(townships)
        ]
    )
    school_rows = []
    for s in range(schools):
        township = township_rows[s % townships]
        school_type = _pick(rng, TYPE_WEIGHTS)
        if school_type == SchoolType.KINDERGARTEN:
            ownership = _pick(
                rng, [(Ownership.PUBLIC, 0.45), (Ownership.INCLUSIVE_PRIVATE, 0.35), (Ownership.PRIVATE, 0.2)]
            )
        else:
            ownership = Ownership.PRIVATE if rng.random() < 0.05 else Ownership.PUBLIC
        school_rows.append(
            OrgUnit(
                code=f"GEN-S{s:06d}",
                name=f"合成学校{s}",
                level=Level.SCHOOL,
                school_type=school_type,
                ownership=ownership,
                # The first primary school of each township leads its 片区.
                is_central=school_type == SchoolType.PRIMARY and s < townships,
                parent=township,
            )
        )
    create_level(school_rows)
    return {
        "districts": districts,
        "townships": townships,
        "schools": schools,
        "total": 1 + districts + townships + schools,
    }
