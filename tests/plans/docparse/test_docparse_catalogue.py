"""The parser suggests a standard-catalogue indicator for a measure its own table does not know."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from plans.docparse.indicators import CATALOGUE_CONFIDENCE, suggest_indicator

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    ("sentence", "code"),
    [
        ("生均教学及辅助用房面积达到4.5平方米以上", "teaching_area_per_student"),
        ("每百名学生拥有网络多媒体教室数达到2.3间", "multimedia_classrooms_per_100"),
        ("义务教育学校生师比控制在19:1以内", "pupil_teacher_ratio"),
        ("全面消除６６人以上超大班额", "super_large_class_share"),  # full-width digits
    ],
)
def test_a_catalogue_measure_is_suggested_by_its_name_or_synonym(sentence: str, code: str) -> None:
    assert suggest_indicator(sentence) == (code, CATALOGUE_CONFIDENCE)


def test_the_parsers_own_table_still_comes_first_and_cv_entries_are_never_suggested() -> None:
    assert suggest_indicator("学前三年毛入园率达到92%") == ("kg_3yr_rate", pytest.approx(0.9, abs=0.1))
    assert suggest_indicator("生均教学及辅助用房面积校际差异系数小于0.5")[0] == "teaching_area_per_student"
    assert suggest_indicator("加强师德师风建设") == (None, 0.0)


def test_matching_names_needs_no_django_settings() -> None:
    """The parser runs as plain Python (its benchmark configures no settings): so does the catalogue lookup."""
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    script = (
        "from plans.docparse.indicators import suggest_indicator\n"
        "print(suggest_indicator('生均体育运动场馆面积达标')[0])"
    )
    result = subprocess.run(  # noqa: S603  (a fixed command: this interpreter and a literal script)
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "sports_area_per_student"
