"""A work order's states and the transitions between them, as the city's hotline rules set them.

待签收 → 已签收 → 办理中 → (延期申请 → 办理中, approved or not) → 已办结 → 已回访 → 归档. An order not yet being
handled may be returned (退单, with a reason, within ``return_within`` working days of dispatch) and is then
re-assigned (改派: a new order to another unit). A citizen not satisfied at the follow-up call sends a
visited order back to be handled again (重办). Any other transition is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

PENDING, RECEIVED, HANDLING, EXTENSION = "待签收", "已签收", "办理中", "延期申请"
COMPLETED, VISITED, ARCHIVED, RETURNED, REASSIGNED = "已办结", "已回访", "归档", "已退单", "已改派"
STATES = (PENDING, RECEIVED, HANDLING, EXTENSION, COMPLETED, VISITED, ARCHIVED, RETURNED, REASSIGNED)
OPEN = (PENDING, RECEIVED, HANDLING, EXTENSION)   # an order a unit still owes an answer on
CLOSED = (COMPLETED, VISITED, ARCHIVED)           # answered


@dataclass(frozen=True)
class Action:
    name: str            # the command-line word
    label: str           # as the rules name it
    sources: tuple[str, ...]
    target: str
    needs_reason: bool = False


ACTIONS = {a.name: a for a in (
    Action("receive", "签收", (PENDING,), RECEIVED),
    Action("start", "办理", (RECEIVED,), HANDLING),
    Action("extend", "延期申请", (HANDLING,), EXTENSION, needs_reason=True),
    Action("approve", "已批准", (EXTENSION,), HANDLING),
    Action("reject", "已驳回", (EXTENSION,), HANDLING, needs_reason=True),
    Action("complete", "已办结", (RECEIVED, HANDLING), COMPLETED),
    Action("visit", "已回访", (COMPLETED,), VISITED),
    Action("archive", "归档", (VISITED,), ARCHIVED),
    Action("return", "退单", (PENDING, RECEIVED), RETURNED, needs_reason=True),
    Action("reassign", "改派", (RETURNED,), REASSIGNED),
    Action("redo", "重办", (VISITED,), HANDLING, needs_reason=True),
)}


class TransitionError(ValueError):
    """A transition the rules do not allow (a usage error: nothing was written)."""


def check(state: str, action: str, reason: str = "") -> str:
    """The state ``action`` leads to from ``state``, or TransitionError saying what is allowed."""
    if action not in ACTIONS:
        raise TransitionError(f"unknown action {action!r}; one of {', '.join(ACTIONS)}")
    a = ACTIONS[action]
    if state not in a.sources:
        allowed = [n for n, b in ACTIONS.items() if state in b.sources]
        raise TransitionError(f"an order in state {state} cannot be {a.label} ({action}); from {state}: "
                              f"{', '.join(allowed) or 'nothing (the order is closed)'}")
    if a.needs_reason and not reason.strip():
        raise TransitionError(f"{a.label} ({action}) needs a reason")
    return a.target
