"""The plan-draft pages: upload or paste, review beside the text, edit, split, merge, commit; bad input."""

from __future__ import annotations

import io
import re
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from plans.models import Plan, Section
from targets.models import DraftStatus, PlanDraft, Target
from tests.targets.test_plan_drafts_api import BAD_UPLOADS, SMALL_PLAN, nothing_stored, seed_000

CREATE = "/plans/import-document/"


def browser(user) -> Client:  # noqa: ANN001
    client = Client()
    client.force_login(user)
    return client


def form_data(draft: PlanDraft, **overrides: Any) -> dict[str, Any]:
    """What the review page posts when nothing is changed (the fields its template renders)."""
    data = draft.data
    post: dict[str, Any] = {"version": draft.version, "title": data["title"], "year": data["year"],
                            "code": data["code"], "parent": data.get("parent") or ""}  # fmt: skip
    for prefix, name in (("s", "sections"), ("w", "work_items")):
        for i, row in enumerate(data[name]):
            post |= {f"{prefix}-{i}-shown": "1", f"{prefix}-{i}-title": row["title"]}
            if row["accepted"]:
                post[f"{prefix}-{i}-accepted"] = "on"
    for i, row in enumerate(data["targets"]):
        post |= {f"t-{i}-shown": "1", f"t-{i}-text": row["text"], f"t-{i}-kind": row["kind"],
                 f"t-{i}-comparator": row["comparator"], f"t-{i}-unit": row["unit"],
                 f"t-{i}-target_value": row["target_value"] or "",
                 f"t-{i}-target_value_max": row["target_value_max"] or ""}  # fmt: skip
        if row["accepted"]:
            post[f"t-{i}-accepted"] = "on"
        if row["applies_to_each_unit"]:
            post[f"t-{i}-each"] = "on"
    post.update(overrides)
    return post


def paste(client: Client, text: str) -> PlanDraft:
    response = client.post(CREATE, {"text": text})
    assert response.status_code == 302, response.content.decode()[:2000]
    return PlanDraft.objects.latest("pk")


@pytest.mark.django_db
def test_plan_list_links_to_the_document_import(users) -> None:  # noqa: ANN001
    page = browser(users.bea).get("/plans/").content.decode()
    assert CREATE in page
    assert "从文档导入" in page


@pytest.mark.django_db
def test_paste_review_and_commit_seed_000(users) -> None:  # noqa: ANN001
    client = browser(users.bea)
    draft = paste(client, seed_000())
    page = client.get(f"/plans/drafts/{draft.pk}/").content.decode()
    assert "幼儿园计划招收新生23000人" in page
    assert 'id="src-0"' in page  # the document text marks where each proposal comes from
    assert "待确认" in page  # low-confidence proposals are marked
    low = next(i for i, t in enumerate(draft.data["targets"]) if t["confidence"] < 0.5)
    high = next(i for i, t in enumerate(draft.data["targets"]) if t["confidence"] >= 0.5)
    box = re.compile(r'<input type="checkbox" name="t-(\d+)-accepted"[^>]*>')
    ticked = {int(m.group(1)): "checked" in m.group(0) for m in box.finditer(page)}
    assert ticked[low] is False
    assert ticked[high] is True
    response = client.post(f"/plans/drafts/{draft.pk}/", form_data(draft, action="commit"))
    assert response.status_code == 302, response.content.decode()[:3000]
    plan = Plan.objects.get()
    accepted = [t for t in draft.data["targets"] if t["accepted"]]
    created = list(Target.objects.filter(plan=plan).order_by("order"))
    assert [(t.text, t.kind) for t in created] == [(t["text"], t["kind"]) for t in accepted]
    draft.refresh_from_db()
    assert draft.status == DraftStatus.COMMITTED
    assert draft.committed_plan == plan


@pytest.mark.django_db
def test_edit_drop_and_commit_on_the_page(users) -> None:  # noqa: ANN001
    client = browser(users.bea)
    draft = paste(client, SMALL_PLAN)
    rate = next(i for i, t in enumerate(draft.data["targets"]) if t["target_value"] == "95")
    dropped = next(i for i, t in enumerate(draft.data["targets"]) if t["target_value"] == "10")
    post = form_data(draft, action="commit", code="east-2024", **{f"t-{rate}-target_value": "96"})
    del post[f"t-{dropped}-accepted"]
    response = client.post(f"/plans/drafts/{draft.pk}/", post)
    assert response.status_code == 302
    plan = Plan.objects.get(code="east-2024")
    assert Target.objects.get(plan=plan, text=draft.data["targets"][rate]["text"]).target_value == Decimal(96)
    assert not Target.objects.filter(plan=plan, text=draft.data["targets"][dropped]["text"]).exists()


@pytest.mark.django_db
def test_errors_are_shown_by_item_and_nothing_is_created(users) -> None:  # noqa: ANN001
    client = browser(users.bea)
    draft = paste(client, SMALL_PLAN)
    rate = next(i for i, t in enumerate(draft.data["targets"]) if t["target_value"] == "95")
    post = form_data(draft, action="commit", **{f"t-{rate}-target_value": "九十五"})
    response = client.post(f"/plans/drafts/{draft.pk}/", post)
    assert response.status_code == 200
    page = response.content.decode()
    assert "未能提交" in page
    row = page[page.index(f'id="target-{rate}"') :]
    assert "请填写数字。" in row[: row.index("</tr>")]
    assert not Plan.objects.exists()
    assert not Section.objects.exists()
    # The edit itself was kept in the draft, for the user to correct.
    draft.refresh_from_db()
    assert draft.data["targets"][rate]["target_value"] == "九十五"


@pytest.mark.django_db
def test_split_and_merge_targets(users) -> None:  # noqa: ANN001
    client = browser(users.bea)
    draft = paste(client, SMALL_PLAN)
    count = len(draft.data["targets"])
    response = client.post(f"/plans/drafts/{draft.pk}/", form_data(draft, action="split-0"))
    assert response.status_code == 302
    draft.refresh_from_db()
    assert len(draft.data["targets"]) == count + 1
    assert draft.data["targets"][1]["text"] == draft.data["targets"][0]["text"]
    assert draft.data["targets"][1]["code"] != draft.data["targets"][0]["code"]
    texts = [draft.data["targets"][i]["text"] for i in (2, 3)]
    response = client.post(f"/plans/drafts/{draft.pk}/", form_data(draft, action="merge", merge=["2", "3"]))
    assert response.status_code == 302
    draft.refresh_from_db()
    assert len(draft.data["targets"]) == count
    assert draft.data["targets"][2]["text"] == "，".join(texts)


@pytest.mark.django_db
def test_stale_page_is_refused(users) -> None:  # noqa: ANN001
    client = browser(users.bea)
    draft = paste(client, SMALL_PLAN)
    old = form_data(draft, action="save")
    assert client.post(f"/plans/drafts/{draft.pk}/", form_data(draft, action="save", title="新标题")).status_code == 302
    response = client.post(f"/plans/drafts/{draft.pk}/", {**old, "title": "旧标题"})
    assert response.status_code == 200
    assert "数据已被他人修改" in response.content.decode()
    draft.refresh_from_db()
    assert draft.data["title"] == "新标题"


@pytest.mark.django_db
def test_reimport_on_the_page(users) -> None:  # noqa: ANN001
    client = browser(users.bea)
    draft = paste(client, SMALL_PLAN)
    response = client.post(
        f"/plans/drafts/{draft.pk}/",
        {"action": "reimport", "version": draft.version, "text": SMALL_PLAN.replace("95%", "97%")},
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert "97" in {t["target_value"] for t in draft.data["targets"]}
    assert PlanDraft.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("case", sorted(BAD_UPLOADS))
def test_bad_uploads_on_the_page(users, case) -> None:  # noqa: ANN001
    name, make, words = BAD_UPLOADS[case]
    upload = io.BytesIO(make())
    upload.name = name
    response = browser(users.bea).post(CREATE, {"file": upload})
    assert response.status_code == (413 if case == "fifty_mb" else 200)
    assert words in response.content.decode()
    assert nothing_stored()


@pytest.mark.django_db
@pytest.mark.parametrize(("text", "words"), [("", "没有内容"), ("今天天气很好。", "没有识别出工作要点")])
def test_bad_text_on_the_page(users, text, words) -> None:  # noqa: ANN001
    response = browser(users.bea).post(CREATE, {"text": text})
    assert response.status_code == 200
    assert words in response.content.decode()
    assert nothing_stored()


@pytest.mark.django_db
def test_pages_refuse_other_roles_and_hide_other_drafts(users, tree) -> None:  # noqa: ANN001
    from tests.conftest import make_user

    draft = paste(browser(users.bea), SMALL_PLAN)
    for persona in ("alice", "rita", "ivan"):
        client = browser(getattr(users, persona))
        assert client.get(CREATE).status_code == 403
        assert client.post(CREATE, {"text": SMALL_PLAN}).status_code == 403
        assert client.get(f"/plans/drafts/{draft.pk}/").status_code == 403
    other = browser(make_user("dora", tree.d1, "bureau_admin"))
    assert other.get(f"/plans/drafts/{draft.pk}/").status_code == 404
    assert other.post(f"/plans/drafts/{draft.pk}/", form_data(draft, action="commit")).status_code == 404
    assert not Plan.objects.exists()
    assert PlanDraft.objects.count() == 1


@pytest.mark.django_db
def test_pages_in_english(users) -> None:  # noqa: ANN001
    client = browser(users.bea)
    assert client.post("/i18n/setlang/", {"language": "en", "next": "/"}).status_code == 302
    draft = paste(client, SMALL_PLAN)
    page = client.get(f"/plans/drafts/{draft.pk}/").content.decode()
    for words in ("Review the plan draft", "Commit: create the plan", "Merge the selected targets", "Re-import"):
        assert words in page
    for words in ("核对工作要点草稿", "提交，生成工作要点", ">采纳<", "合并所选目标"):
        assert words not in page
    assert "学前三年毛入园率达到95%以上" in page  # the document's own words stay as written
    response = client.post(CREATE, {"text": ""})
    assert "Nothing to read" in response.content.decode()


@pytest.mark.django_db
def test_oversized_pasted_text_on_the_page(users) -> None:  # noqa: ANN001
    client = browser(users.bea)
    response = client.post(CREATE, {"text": SMALL_PLAN + "。" * 750_000})  # 2.25 MB: over the 2 MB text limit
    assert response.status_code == 200
    assert "文字过长" in response.content.decode()
    assert client.post(CREATE, {"text": "x" * (50 * 1024 * 1024)}).status_code == 413
    assert nothing_stored()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "words"),
    [({"year": "二〇二四"}, "年度应为整数"), ({"action": "split-x"}, None), ({"action": "split-999"}, "序号超出范围")],
)
def test_odd_page_posts_are_answered_not_crashed(users, overrides, words) -> None:  # noqa: ANN001
    client = browser(users.bea)
    draft = paste(client, SMALL_PLAN)
    response = client.post(f"/plans/drafts/{draft.pk}/", form_data(draft, **overrides))
    assert response.status_code in (200, 302)
    if words:
        assert response.status_code == 200
        assert words in response.content.decode()
    assert not Plan.objects.exists()
