"""The English catalogue: every UI string is translated, and switching the language shows English pages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from tests.conftest import Personas

PO_FILE = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES" / "django.po"

# (url, English words that must appear, Chinese words for the same labels)
PAGES = [
    ("/accounts/login/", ["Log in", "Username", "Password"], ["登录", "用户名", "密码"]),
    ("/", ["Home", "Work plan", "Log out"], ["首页", "工作要点", "退出"]),
    ("/plans/", ["Work plan", "Log out"], ["工作要点", "退出"]),
    ("/reports/", ["Progress dashboard", "Log out"], ["进展看板", "退出"]),
]


def _unquote(chunks: list[str]) -> str:
    text = "".join(chunks)
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), text)


def parse_po(path: Path) -> list[dict[str, str]]:
    """Minimal .po parser: one dict per entry (blank-line separated), obsolete entries skipped."""
    entries: list[dict[str, str]] = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        fields: dict[str, list[str]] = {}
        flags: list[str] = []
        key = None
        for line in block.splitlines():
            line = line.strip()
            if line.startswith("#,"):
                flags.extend(f.strip() for f in line[2:].split(","))
            elif line.startswith("#"):
                continue
            elif m := re.match(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s+"(.*)"$', line):
                key = m.group(1)
                fields[key] = [m.group(2)]
            elif line.startswith('"') and key is not None:
                fields[key].append(line[1:-1])
        if "msgid" in fields:
            entry = {k: _unquote(v) for k, v in fields.items()}
            entry["flags"] = ",".join(flags)
            entries.append(entry)
    return entries


def test_catalogue_has_no_untranslated_or_fuzzy_entries() -> None:
    entries = [e for e in parse_po(PO_FILE) if e.get("msgid")]
    assert len(entries) > 500
    untranslated = [e["msgid"] for e in entries if not all(v.strip() for k, v in e.items() if k.startswith("msgstr"))]
    assert untranslated == []
    assert [e["msgid"] for e in entries if "fuzzy" in e["flags"]] == []
    plural = [e for e in entries if "msgid_plural" in e]
    assert plural
    assert all("msgstr[0]" in e and "msgstr[1]" in e for e in plural)


def test_compiled_catalogue_is_used() -> None:
    # Not an mtime check: git checkouts don't preserve timestamps.
    from django.utils import translation

    assert PO_FILE.with_suffix(".mo").exists()
    with translation.override("en"):
        assert translation.gettext("工作要点") == "Work plan"
        assert translation.ngettext("%(n)s 项目标", "%(n)s 项目标", 2) % {"n": 2} == "2 targets"


def _switch_to_english(client: Client) -> None:
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302


@pytest.mark.parametrize(("url", "english", "chinese"), PAGES)
def test_pages_render_in_english_after_switching(
    client: Client, users: Personas, url: str, english: list[str], chinese: list[str]
) -> None:
    _switch_to_english(client)
    if url != "/accounts/login/":
        client.force_login(users.bea)
    response = client.get(url, follow=True)
    assert response.status_code == 200
    body = response.content.decode()
    assert '<html lang="en">' in body
    for word in english:
        assert word in body, word
    for word in chinese:
        assert f">{word}<" not in body, word


@pytest.mark.parametrize(("url", "english", "chinese"), PAGES)
def test_pages_are_chinese_without_switching(
    client: Client, users: Personas, url: str, english: list[str], chinese: list[str]
) -> None:
    if url != "/accounts/login/":
        client.force_login(users.bea)
    response = client.get(url, follow=True)
    assert response.status_code == 200
    body = response.content.decode()
    for word in chinese:
        assert word in body, word
    assert "Log in" not in body
    assert "Log out" not in body
