"""Two people act on the same submission at the same instant, ≥ 1,000 randomized trials (PostgreSQL).

Two long-lived threads, each with its own database connection, run one step each per trial; a barrier
releases them together and a random sub-millisecond delay varies who reaches the row lock first. Both
steps were prepared from the same screen, i.e. the same ``version``. After each trial:

- exactly one step won; the other got VersionConflict / StateError (409 over HTTP) with its message;
- the row, values and new history rows are exactly the winner's (no lost update, no duplicate history
  row), the version moved on by exactly one, and an approval left exactly one pending recompute.

Some trials go through the API with a test Client per thread. ``CONCURRENCY_TRIALS`` and
``CONCURRENCY_SEED`` change the count and the random sequence (the seed is in every failure message).
"""

from __future__ import annotations

import os
import queue
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from django.db import connection
from django.db.models import Max
from django.test import Client

from indicators import dispatch
from indicators.models import PendingRecompute
from portal.errors import ServiceError, StateError, VersionConflict
from schools.models import Role
from submissions import workflow
from submissions.models import HistoryAction, Submission, SubmissionHistory, SubmissionStatus
from tests.conftest import make_user
from tests.faults.world import World, build_world, values_of

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

TRIALS = int(os.environ.get("CONCURRENCY_TRIALS", "1000"))
SEED = int(os.environ.get("CONCURRENCY_SEED", "20231"))
STALE = "数据已被他人修改，请刷新后重试。"  # VersionConflict's message
WRONG_STATE = "当前状态为"  # StateError's messages start so


@dataclass
class Outcome:
    won: bool
    message: str = ""  # the loser's message
    error: BaseException | None = None  # anything that is neither a win nor a clear refusal


class Pair:
    """Two threads that each run one callable per round, released together by a barrier."""

    def __init__(self) -> None:
        self.barrier = threading.Barrier(2)
        self.inbox: list[queue.Queue[Any]] = [queue.Queue(), queue.Queue()]
        self.outbox: list[queue.Queue[Outcome]] = [queue.Queue(), queue.Queue()]
        self.threads = [threading.Thread(target=self._loop, args=(i,), daemon=True) for i in (0, 1)]
        for thread in self.threads:
            thread.start()

    def _loop(self, index: int) -> None:
        try:
            while True:
                job = self.inbox[index].get()
                if job is None:
                    return
                call, delay = job
                self.barrier.wait(timeout=30)
                if delay:
                    time.sleep(delay)
                self.outbox[index].put(_outcome(call))
        finally:
            connection.close()  # this thread's own connection

    def run(self, first: Callable[[], Any], second: Callable[[], Any], delays: tuple[float, float]) -> list[Outcome]:
        self.inbox[0].put((first, delays[0]))
        self.inbox[1].put((second, delays[1]))
        return [self.outbox[0].get(timeout=60), self.outbox[1].get(timeout=60)]

    def close(self) -> None:
        for box in self.inbox:
            box.put(None)
        for thread in self.threads:
            thread.join(timeout=30)


def _outcome(call: Callable[[], Any]) -> Outcome:
    try:
        result = call()
    except (VersionConflict, StateError) as exc:
        return Outcome(False, " ".join(m for ms in exc.errors.values() for m in ms))
    except ServiceError as exc:  # a 400-type refusal is not what a race may produce
        return Outcome(False, str(exc.errors), error=exc)
    except BaseException as exc:  # noqa: BLE001  (reported by the main thread)
        return Outcome(False, repr(exc), error=exc)
    if isinstance(result, HttpAnswer):
        if result.status == 200:
            return Outcome(True)
        if result.status == 409:
            return Outcome(False, " ".join(m for ms in result.body.get("errors", {}).values() for m in ms))
        return Outcome(False, f"HTTP {result.status}: {result.body}", error=AssertionError(result.status))
    return Outcome(True)


@dataclass
class HttpAnswer:
    status: int
    body: dict[str, Any]


@dataclass
class Effect:
    """What one step does when it wins: the row's status, the values, and the history rows it adds."""

    status: str
    values: dict[str, Decimal]
    history: list[tuple[str, str | None, Decimal | None]]  # (action, figure code, new value)
    pending: int = 0  # pending recomputes it records


@dataclass
class Step:
    name: str
    call: Callable[[], Any]
    effect: Effect


@dataclass
class Stage:
    world: World
    submission: Submission
    users: dict[str, Any]
    clients: dict[str, Client] = field(default_factory=dict)


def _api(client: Client, method: str, url: str, data: dict[str, Any]) -> HttpAnswer:
    response = getattr(client, method)(url, data, content_type="application/json")
    return HttpAnswer(response.status_code, response.json() if response.content else {})


# --- The steps. Each takes the stage, the version both sides read, the values now and a random source. ---


def save(stage: Stage, who: str, version: int, now: dict[str, Decimal], rnd: random.Random, http: bool = False) -> Step:
    new = {"pri_new_entrants": Decimal(rnd.randint(1, 999)), "pri_enrolled": Decimal(rnd.randint(1000, 4999))}
    submission, user = stage.submission, stage.users[who]
    history = [(HistoryAction.VALUE, code, new[code]) for code in sorted(new) if new[code] != now.get(code)]
    effect = Effect(SubmissionStatus.DRAFT, {**now, **new}, history)
    if http:
        url = f"/api/v1/submissions/{submission.pk}/"
        client = stage.clients[who]
        payload = {"version": version, "values": {k: int(v) for k, v in new.items()}}
        return Step(f"api-save[{who}]", lambda: _api(client, "patch", url, payload), effect)
    # Each thread loads its own copy of the row, as each request does.
    return Step(
        f"save[{who}]",
        lambda: workflow.save_values(Submission.objects.get(pk=submission.pk), user, new, version=version),
        effect,
    )


def transition(stage: Stage, who: str, action: str, version: int, now: dict[str, Decimal], http: bool = False) -> Step:
    submission, user = stage.submission, stage.users[who]
    status = {
        "submit": SubmissionStatus.SUBMITTED,
        "approve": SubmissionStatus.APPROVED,
        "return": SubmissionStatus.RETURNED,
    }[action]
    effect = Effect(status, dict(now), [(action, None, None)], pending=1 if action == "approve" else 0)
    if http:
        url = f"/api/v1/submissions/{submission.pk}/{action}/"
        client = stage.clients[who]
        payload: dict[str, Any] = {"version": version, "reason": "数据有误，请核实"}
        return Step(f"api-{action}[{who}]", lambda: _api(client, "post", url, payload), effect)

    def call() -> Submission:
        mine = Submission.objects.select_related("org_unit", "period").get(pk=submission.pk)
        if action == "submit":
            return workflow.submit(mine, user, version=version)
        if action == "approve":
            return workflow.approve(mine, user, version=version)
        return workflow.return_submission(mine, user, reason="数据有误，请核实", version=version)

    return Step(f"{action}[{who}]", call, effect)


# kind → (starting status, builder of the two steps)
Builder = Callable[[Stage, int, dict[str, Decimal], random.Random], tuple[Step, Step]]
KINDS: dict[str, tuple[str, Builder]] = {
    # two principals' sessions save different figures over the same version
    "save/save": (
        SubmissionStatus.DRAFT,
        lambda s, v, now, r: (save(s, "alice", v, now, r), save(s, "alice2", v, now, r)),
    ),
    "api save/save": (
        SubmissionStatus.DRAFT,
        lambda s, v, now, r: (save(s, "alice", v, now, r, http=True), save(s, "alice2", v, now, r, http=True)),
    ),
    # two reviewers, one approves and one returns
    "approve/return": (
        SubmissionStatus.SUBMITTED,
        lambda s, v, now, r: (transition(s, "rita", "approve", v, now), transition(s, "rita2", "return", v, now)),
    ),
    "api approve/approve": (
        SubmissionStatus.SUBMITTED,
        lambda s, v, now, r: (
            transition(s, "rita", "approve", v, now, http=True),
            transition(s, "rita2", "approve", v, now, http=True),
        ),
    ),
    "api approve/return": (
        SubmissionStatus.SUBMITTED,
        lambda s, v, now, r: (
            transition(s, "rita", "approve", v, now, http=True),
            transition(s, "rita2", "return", v, now, http=True),
        ),
    ),
    # one session submits while another saves new figures
    "submit/save": (
        SubmissionStatus.DRAFT,
        lambda s, v, now, r: (transition(s, "alice", "submit", v, now), save(s, "alice2", v, now, r)),
    ),
    # a reviewer's stale page returns a draft the principal is submitting
    "submit/return": (
        SubmissionStatus.DRAFT,
        lambda s, v, now, r: (transition(s, "alice", "submit", v, now), transition(s, "rita", "return", v, now)),
    ),
    # the reviewer returns while the principal saves from the page that showed the submitted figures
    "return/save": (
        SubmissionStatus.SUBMITTED,
        lambda s, v, now, r: (transition(s, "rita", "return", v, now), save(s, "alice", v, now, r)),
    ),
    # the reviewer approves while the principal saves (only the approval can win)
    "approve/save": (
        SubmissionStatus.SUBMITTED,
        lambda s, v, now, r: (transition(s, "rita2", "approve", v, now), save(s, "alice2", v, now, r, http=True)),
    ),
}


@pytest.fixture
def stage(tree: Any, users: Any) -> Iterator[Stage]:
    if connection.vendor != "postgresql":
        pytest.skip("real concurrent writers need PostgreSQL (SQLite serializes the whole database)")
    world = build_world(tree)
    cast = {
        "alice": users.alice,
        "alice2": make_user("alice2", tree.s1, Role.PRINCIPAL),  # a second session of S1's office
        "rita": users.rita,
        "rita2": make_user("rita2", tree.d1, Role.REVIEWER),
    }
    submission = workflow.open_submission(users.alice, tree.s1, world.period)
    workflow.save_values(
        submission, users.alice, {"pri_new_entrants": 50, "pri_enrolled": 500}, version=submission.version
    )
    clients = {}
    for name, user in cast.items():
        clients[name] = Client()
        clients[name].force_login(user)
    # The approval's after-commit enqueue would run the indicator engine eagerly in the thread; the
    # pending row is what this test counts, so the enqueue is a no-op here.
    with mock.patch.object(dispatch, "_enqueue", return_value=None):
        yield Stage(world, Submission.objects.get(pk=submission.pk), cast, clients)


def _new_history(after_pk: int) -> list[tuple[str, str | None, Decimal | None, int, str]]:
    rows = SubmissionHistory.objects.filter(pk__gt=after_pk).order_by("action", "figure__code")
    return [
        (row.action, row.figure.code if row.figure_id else None, row.new_value, row.version, row.user.username)
        for row in rows.select_related("figure", "user")
    ]


def test_concurrent_steps_on_one_submission_have_exactly_one_winner(stage: Stage) -> None:
    rnd = random.Random(SEED)
    pair = Pair()
    wins: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    started = time.monotonic()
    submission = stage.submission
    try:
        for trial in range(TRIALS):
            kind = rnd.choice(list(KINDS))
            start_status, build = KINDS[kind]
            Submission.objects.filter(pk=submission.pk).update(status=start_status)
            row = Submission.objects.get(pk=submission.pk)
            version, now = row.version, values_of(row)
            first, second = build(stage, version, now, rnd)
            if rnd.random() < 0.5:
                first, second = second, first
            last_history = SubmissionHistory.objects.aggregate(top=Max("pk"))["top"] or 0
            pending_before = PendingRecompute.objects.count()
            delays = (rnd.uniform(0, 0.002), rnd.uniform(0, 0.002))

            outcomes = pair.run(first.call, second.call, delays)

            where = f"trial {trial} ({kind}: {first.name} vs {second.name}, seed {SEED})"
            errors = [o.error for o in outcomes if o.error is not None]
            assert not errors, f"{where}: {[o.message for o in outcomes]}"
            winners = [step for step, outcome in zip((first, second), outcomes, strict=True) if outcome.won]
            assert len(winners) == 1, f"{where}: {len(winners)} winners"
            winner = winners[0]
            loser = next(o for o in outcomes if not o.won)
            assert STALE in loser.message or loser.message.startswith(WRONG_STATE), f"{where}: {loser.message!r}"

            row = Submission.objects.get(pk=submission.pk)
            who = winner.name.split("[")[1].rstrip("]")
            assert row.status == winner.effect.status, where
            assert row.version == version + 1, f"{where}: version {version} → {row.version}"
            assert values_of(row) == winner.effect.values, f"{where}: lost update"
            expected = sorted((a, code, new, version + 1, who) for a, code, new in winner.effect.history)
            assert _new_history(last_history) == expected, f"{where}: history"
            assert PendingRecompute.objects.count() == pending_before + winner.effect.pending, where
            wins[f"{kind}: {winner.name}"] += 1
            kinds[kind] += 1
    finally:
        pair.close()
    elapsed = time.monotonic() - started
    print(f"\n{TRIALS} trials in {elapsed:.1f} s; winners {dict(sorted(wins.items()))}")  # noqa: T201  (shown with -s)
    assert sum(kinds.values()) == TRIALS
    if TRIALS >= 500:
        # The barrier really makes them race: in the symmetric kinds each side wins some of the time.
        for kind, sides in [("save/save", ("save[alice]", "save[alice2]")), ("approve/return", ("approve", "return"))]:
            for side in sides:
                assert any(name.startswith(f"{kind}: {side}") for name in wins), f"{kind}: {side} never won"
