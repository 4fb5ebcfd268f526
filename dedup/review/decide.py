"""Decisions a person makes on topics: confirm, split members out, merge, re-route, undo.

The page and `dedup decide` both call these. Each decision is one transaction: it checks that the topic
is as the person last saw it (``token``: a run or another person's decision since makes it stale, and
nothing is written), changes the topics and texts, and appends to the log who did what, with the state
before and after. Identical copies are one text, so splitting a member moves every copy of its text. A
decision waits for no run: while a run holds the database the decision is refused, to be made again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dedup.storage import decisions as db
from dedup.storage.store import Store, writing

ROLES = ("viewer", "reviewer")


class DecisionError(Exception):
    """A decision that cannot be made as asked (a usage error: nothing was written)."""


class Stale(DecisionError):
    """The topic changed since the person saw it."""


@dataclass(frozen=True)
class Reviewer:
    name: str
    role: str = "reviewer"

    def can_decide(self) -> bool:
        return self.role == "reviewer"


def _live(con, topic_id: str) -> dict:
    topic = db.state(con, topic_id)
    if topic is None:
        raise DecisionError(f"no topic {topic_id!r}")
    if topic["merged_into"]:
        raise DecisionError(f"topic {topic_id} was merged into {topic['merged_into']}; decide on that one")
    return topic


def _check(con, topic: dict, token: str | None) -> None:
    if token is None or token == db.token(topic):
        return
    seen_run = token.split(".")[0]
    if str(topic["updated_run"]) != seen_run:
        raise Stale(f"topic {topic['topic_id']} was changed by run {topic['updated_run']} at "
                    f"{db.run_finished(con, topic['updated_run'])} since you opened it; reload it and decide again")
    last = db.log(con, topic["topic_id"])
    by = f" by {last[-1]['who']} at {last[-1]['at']}" if last else ""
    raise Stale(f"topic {topic['topic_id']} was changed{by} since you opened it; reload it and decide again")


def _who(reviewer: Reviewer) -> str:
    if not reviewer.can_decide():
        raise DecisionError(f"{reviewer.name} is a viewer: only a reviewer can decide")
    if not reviewer.name.strip():
        raise DecisionError("a decision needs the reviewer's name")
    return reviewer.name.strip()


def confirm(store: Store, reviewer: Reviewer, topic_id: str, token: str | None = None) -> int:
    who = _who(reviewer)
    with writing(store) as con:
        topic = _live(con, topic_id)
        _check(con, topic, token)
        before = {"confirmed": topic["confirmed"], "needs_review": topic["needs_review"]}
        db.update(con, topic_id, confirmed=1, needs_review=0)
        return db.append(con, who=who, kind="confirm", topic_id=topic_id, before=before,
                         after={"confirmed": 1, "needs_review": 0})


def reroute(store: Store, reviewer: Reviewer, topic_id: str, unit: str, reason: str,
            token: str | None = None) -> int:
    who = _who(reviewer)
    if not unit.strip():
        raise DecisionError("a re-route needs the unit to send the topic to")
    if not reason.strip():
        raise DecisionError("a re-route needs a reason")
    with writing(store) as con:
        topic = _live(con, topic_id)
        _check(con, topic, token)
        before = {k: topic[k] for k in ("department", "department_score", "staff_unit", "needs_review")}
        after = {"department": unit.strip(), "department_score": 1.0, "staff_unit": unit.strip(), "needs_review": 0}
        db.update(con, topic_id, **after)
        return db.append(con, who=who, kind="reroute", topic_id=topic_id, unit=unit.strip(), reason=reason.strip(),
                         before=before, after=after)


def split(store: Store, reviewer: Reviewer, topic_id: str, item_ids: Sequence[str], into: str = "",
          token: str | None = None) -> tuple[int, str]:
    """Move the texts of ``item_ids`` out of ``topic_id``, into a new topic or into ``into``; returns the
    decision and the topic they went to."""
    who = _who(reviewer)
    if not item_ids:
        raise DecisionError("select the members to split out")
    with writing(store) as con:
        topic = _live(con, topic_id)
        _check(con, topic, token)
        nodes, missing = db.nodes_of_items(con, topic_id, list(item_ids))
        if missing:
            raise DecisionError(f"not members of {topic_id}: {', '.join(missing[:5])}")
        if len(nodes) == len(db.node_ids(con, topic_id)):
            raise DecisionError(f"that is every text of {topic_id}; merge it instead")
        if into:
            if into == topic_id:
                raise DecisionError("split into the topic itself")
            _live(con, into)
            target = into
        else:
            target = db.new_topic_id(con)
            db.create_topic(con, target, topic_id)
        db.move_nodes(con, nodes, target)
        for t in (topic_id, target):
            db.refresh(con, t)
            db.update(con, t)
        decision = db.append(con, who=who, kind="split", topic_id=topic_id, target=target, nodes=nodes,
                             before={"size": topic["size"]}, after={"size": db.state(con, topic_id)["size"],
                                                                    "target_size": db.state(con, target)["size"],
                                                                    "new_topic": not into})
        return decision, target


def merge(store: Store, reviewer: Reviewer, topic_id: str, into: str, token: str | None = None) -> int:
    """Merge ``topic_id`` into ``into``: its texts move, and its id redirects to ``into``."""
    who = _who(reviewer)
    if topic_id == into:
        raise DecisionError("merge a topic into another one")
    with writing(store) as con:
        topic = _live(con, topic_id)
        _check(con, topic, token)
        target = _live(con, into)
        nodes = db.node_ids(con, topic_id)
        db.move_nodes(con, nodes, into)
        db.refresh(con, into)
        db.update(con, into)
        db.update(con, topic_id, merged_into=into, size=0)
        return db.append(con, who=who, kind="merge", topic_id=topic_id, target=into, nodes=nodes,
                         before={"size": topic["size"], "target_size": target["size"]},
                         after={"size": 0, "target_size": db.state(con, into)["size"]})


def undo(store: Store, reviewer: Reviewer, decision_id: int) -> int:
    """A decision that restores what ``decision_id`` changed (the log keeps both)."""
    who = _who(reviewer)
    with writing(store) as con:
        found = db.log(con, decision_id=decision_id)
        if not found:
            raise DecisionError(f"no decision {decision_id}")
        d = found[0]
        if d["undone_by"]:
            raise DecisionError(f"decision {decision_id} was undone by decision {d['undone_by']}")
        if d["kind"] == "undo":
            raise DecisionError("an undo is not undone: make the decision again")
        topic_id, target = d["topic_id"], d["target"]
        later = [e for e in db.log(con) if e["decision_id"] > decision_id and e["kind"] != "undo"
                 and not e["undone_by"] and ({e["topic_id"], e["target"]} & {topic_id, target} - {""})]
        if later:
            raise DecisionError(f"decision {decision_id} was followed by decision {later[0]['decision_id']} on "
                                f"the same topic ({later[0]['kind']}); undo that one first")
        for live in ([topic_id] if d["kind"] in ("confirm", "reroute", "split") else []) + (
                [target] if d["kind"] in ("split", "merge") else []):
            _live(con, live)
        if d["kind"] in ("confirm", "reroute"):
            _live(con, topic_id)
            db.update(con, topic_id, **d["before"])
            after = d["before"]
        elif d["kind"] == "split":
            back = [n for n in d["nodes"] if n in set(db.node_ids(con, target))]
            db.move_nodes(con, back, topic_id)
            for t in (topic_id, target):
                db.refresh(con, t)
                db.update(con, t)
            if d["after"].get("new_topic") and not db.node_ids(con, target):
                db.update(con, target, merged_into=topic_id)
            after = {"moved_back": len(back)}
        elif d["kind"] == "merge":
            back = [n for n in d["nodes"] if n in set(db.node_ids(con, target))]
            db.move_nodes(con, back, topic_id)
            db.update(con, topic_id, merged_into=None)
            for t in (topic_id, target):
                db.refresh(con, t)
                db.update(con, t)
            after = {"moved_back": len(back)}
        else:
            raise DecisionError(f"decision {decision_id} is a {d['kind']!r}, which cannot be undone")
        return db.append(con, who=who, kind="undo", topic_id=topic_id, target=target, nodes=d["nodes"],
                         reason=f"undo of decision {decision_id} ({d['kind']})", before=d["after"], after=after,
                         undoes=decision_id)


def bulk(store: Store, reviewer: Reviewer, kind: str, f: db.QueueFilter, unit: str = "", reason: str = "") -> int:
    """Confirm or re-route every topic the filter matches; returns how many."""
    if kind not in ("confirm", "reroute"):
        raise DecisionError("bulk decisions are confirm and reroute")
    topics = db.matching(store.db, f)
    for topic in topics:
        if kind == "confirm":
            confirm(store, reviewer, topic["topic_id"])
        else:
            reroute(store, reviewer, topic["topic_id"], unit, reason)
    return len(topics)
