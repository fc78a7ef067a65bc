"""The budget and rate-limit step: lease before sending, settle once when the call ends.

A request counts when it is a model call: a JSON body that names a ``model`` (chat, Responses,
embeddings, completions, images, speech, ...). The lease is computed from the final body, so
``extra_body`` cannot raise ``max_completion_tokens`` or ``n`` behind it. ``finish`` is the one place
a call's usage is settled (or its lease released): see ``Accounting.finish``.
"""

from __future__ import annotations

from prodguard.guard._budget import Accounting
from prodguard.guard._call import Call
from prodguard.guard._io import Flow
from prodguard.guard._steps.base import StepBase


class BudgetStep(StepBase):
    name = "budget"

    def __init__(self, accounting: Accounting) -> None:
        self.accounting = accounting

    def request(self, call: Call) -> Flow[None]:
        if call.route.body == "json" and call.model:
            yield from self.accounting.admit(call)

    def retry(self, call: Call) -> Flow[None]:
        if call.lease is not None:
            yield from self.accounting.readmit(call, call.attempt)

    def finish(self, call: Call, error: BaseException | None) -> None:
        self.accounting.finish(call, usage=call.usage, error=error)
