"""Deliberate faults for checking that bench_load's verification catches them (``BENCH_LOAD_BREAK``).

- ``values``: a middleware adds 1 to every posted ``v_pri_enrolled`` before the view sees it, as a
  buggy form or proxy would — the bench must report changed values.
- ``worker`` (handled in bench_load.py): the Celery worker listens on a queue nobody sends to, so
  recomputes never run — the bench must report open recomputes and indicator mismatches.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


class ChangeOnePostedValue:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and request.POST.get("v_pri_enrolled", "").isdigit():
            post = request.POST.copy()
            post["v_pri_enrolled"] = str(int(post["v_pri_enrolled"]) + 1)
            request.POST = post
        return self.get_response(request)
