"""Publishing a run's files: what ``write_exports`` writes after the commit, and what a run writes
early (``EarlyExports``) and keeps only if it holds what was committed.

Files go under temporary names and are renamed into place (``dedup/io/export.py``); the lists are read
back from the database, so that they say what was stored.
"""

from __future__ import annotations

import multiprocessing as mp
from collections import Counter
from collections.abc import Sequence
from contextlib import ExitStack
from operator import itemgetter
from pathlib import Path

from dedup.batch.engine import StageTimer
from dedup.batch.plan import Plan
from dedup.core.records import Rejection
from dedup.core.topics import TOPIC_COLUMNS, TopicSummary, topic_row
from dedup.io.export import copy_file, pending, publish, write_csv, write_json, write_rejected, write_xlsx
from dedup.runtime.parallel import Background, can_fork, in_background
from dedup.storage.snapshot import ASSIGNMENTS_SQL, ITEM_TOPICS_SQL, TOPIC_SELECT, read_only, snapshot
from dedup.storage.store import Store


class EarlyExports:
    """Export files written before the commit is known to have succeeded, under temporary names.

    A full run or rebuild knows every row before it commits, so the workbook,
    topics.csv and assignments are written while its forked writer commits (in-process: a forked
    copy of a run's memory would cost a gigabyte); a night reads the stored
    assignments and topics in forked processes before it commits and applies its
    own changes to them.
    ``write_exports`` keeps a file only if it holds what was committed (the same
    topic rows, or the same rows of the run's topics for a night; the same number
    of items per topic); a failed run removes them.
    """

    def __init__(self, stack: ExitStack, out: Path) -> None:
        self.stack, self.out = stack, out
        self.workbook: Done | None = None           # -> (its and topics.csv's temporary paths, hash of their rows)
        self.assignments: Background | Done | None = None  # -> (temporary path, items per topic) or None
        self.topics: Background | None = None        # -> (temporary path, hash of the run's rows) or None
        self._snapshots: list = []                   # (ready event, its job)
        out.mkdir(parents=True, exist_ok=True)
        stack.callback(_discard, [pending(out / name) for name in ("topics.xlsx", "assignments.csv", "topics.csv")])

    def wait_for_snapshots(self) -> None:
        """Until every snapshot read holds its read lock (or its process has ended)."""
        for ready, job in self._snapshots:
            while ready is not None and job.child is not None and not ready.wait(0.05):
                if not job.child.is_alive():
                    break

    def _start(self, name: str, func, *args, snapshot: bool = False) -> Background:
        """``func(*args)`` in a forked process; a snapshot reader also gets an event to set (see store.snapshot)."""
        ready = mp.get_context("fork").Event() if snapshot and can_fork() else None
        job = self.stack.enter_context(in_background(func, self.out / name, *args, *((ready,) if snapshot else ())))
        if snapshot:
            self._snapshots.append((ready, job))
        return job

    def start_night_assignments(self, db_path: Path, last_run: int, plan: Plan) -> None:
        self.assignments = self._start("assignments.csv", _write_pairs, _night_assignments, db_path, last_run, plan,
                                       snapshot=True)

    def write_workbook(self, rows: list[tuple]) -> None:
        """The workbook and topics.csv of a full run or rebuild: every topic's row, largest first."""
        rows = sorted(rows, key=lambda r: (-r[1], r[0]))  # as topic_rows reads them
        self.workbook = Done((write_xlsx(self.out / "topics.xlsx", {"topics": (TOPIC_COLUMNS, rows)}, final=False),
                               write_csv(self.out / "topics.csv", TOPIC_COLUMNS, rows, final=False), hash(tuple(rows))))

    def start_topics(self, db_path: Path, last_run: int, topics: list[TopicSummary], merged: dict[str, str]) -> None:
        self.topics = self._start("topics.csv", _night_topics, db_path, last_run, topics, merged, snapshot=True)


class Done:
    """A file written in-process, answering ``wait()`` as a ``Background`` job does."""

    def __init__(self, result) -> None:
        self.result = result

    def wait(self):
        return self.result


def _night_topics(path: Path, db_path: Path, last_run: int, topics: list[TopicSummary],
                  merged: dict[str, str], ready=None) -> tuple[Path, int] | None:
    """topics.csv as this run will leave the database: stored rows, the run's own in place of theirs."""
    rows = snapshot(db_path, last_run, f"{TOPIC_SELECT} FROM topics WHERE merged_into IS NULL", ready)
    if rows is None:
        return None
    mine = [tuple(topic_row(t)) for t in topics if t.topic_id not in merged]
    gone = set(merged) | {t.topic_id for t in topics}
    rows = [r for r in rows if r[0] not in gone] + mine
    rows.sort(key=lambda r: (-r[1], r[0]))
    return write_csv(path, TOPIC_COLUMNS, rows, final=False), hash(tuple(sorted(mine)))


def _write_pairs(path: Path, func, *args) -> tuple[Path, Counter] | None:
    pairs = func(*args)
    if pairs is None:
        return None
    pairs.sort(key=itemgetter(0))  # ids are distinct; read in node order (0.9 s at 1.28M, 1.2 s as tuples)
    return write_csv(path, ["id", "topic_id"], pairs, final=False), Counter(topic for _, topic in pairs)


def _night_assignments(db_path: Path, last_run: int, plan: Plan, ready=None) -> list[tuple[str, str]] | None:
    """The stored assignments as this run will leave them, or None if the database is no longer as it was."""
    pairs = snapshot(db_path, last_run, ITEM_TOPICS_SQL, ready)
    if pairs is None:
        return None
    if plan.moves:  # applied one after another, as Store.move_topics does
        final = {}
        for topic in plan.moves:
            to = topic
            for a, b in plan.moves.items():
                to = b if to == a else to
            final[topic] = to
        pairs = [(i, final.get(t, t)) for i, t in pairs]
    pairs += [(it.id, topic) for it, _, topic in plan.new_items]
    return pairs


def write_assignments(db_path: Path, path: Path) -> Path:
    """assignments.csv as committed, read through a connection of its own (this runs in a forked process)."""
    with read_only(db_path) as con:
        return write_csv(path, ["id", "topic_id"], con.execute(ASSIGNMENTS_SQL))


def _discard(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def write_exports(store: Store, out: Path, run_id: int, rejected: list[Rejection], record: dict,
                  timer: StageTimer, whole: bool, early: EarlyExports | None = None,
                  flagged: Sequence[Rejection] = (), relist: int | None = None) -> dict[str, Path]:
    """Every run writes all assignments and topics (CSV), tonight's new and changed topics, and a workbook.

    The workbook holds every topic after a full run or rebuild; after a night
    added to a database it holds the night's dispatch (new and changed topics):
    an Excel file of 100,000 topics takes longer to write than the whole night.
    Files written early (``early``) are kept only if they hold what was committed.
    """
    out.mkdir(parents=True, exist_ok=True)
    early_topics = early.topics.wait() if early is not None and early.topics is not None else None
    all_rows, new, changed = store.topic_rows(run_id, every=early_topics is None)
    topics_csv = workbook = assignments = None
    if early_topics is not None and early_topics[1] == hash(tuple(sorted(new + changed))):
        topics_csv = publish(early_topics[0])
    elif early_topics is not None:
        all_rows = store.topic_rows(run_id)[0]
    if early is not None and early.workbook is not None:
        tmp, topics_tmp, digest = early.workbook.wait()
        if digest == hash(tuple(all_rows)):
            workbook, topics_csv = publish(tmp), publish(topics_tmp)
    if early is not None and early.assignments is not None:
        written = early.assignments.wait()
        sizes = store.topic_sizes() if early_topics is not None else {row[0]: row[1] for row in all_rows if row[1] > 0}
        if written is not None and written[1] == sizes:
            assignments = publish(written[0])
    changed = _with_sources(changed, record["merged"])
    if relist is not None:  # tonight changed nothing: the lists are those of the run whose exports were cut off
        new, changed = store.run_lists(relist)
        earlier_rejected, earlier_flagged = store.problems(relist)  # and tonight's own problem rows after them
        rejected, flagged = earlier_rejected + list(rejected), earlier_flagged + list(flagged)
    sheets = {"topics": (TOPIC_COLUMNS, all_rows)} if whole else {
        "new": (TOPIC_COLUMNS, new), "changed": (TOPIC_COLUMNS + ["merged_from"], changed)}
    with ExitStack() as stack:
        # what could not be written early is written now, the two slowest files by forked processes
        workbook_job = stack.enter_context(in_background(write_xlsx, out / "topics.xlsx", sheets)) \
            if workbook is None else None
        assignments_job = stack.enter_context(in_background(write_assignments, store.path,
                                                            out / "assignments.csv")) if assignments is None else None
        topics_path = topics_csv or write_csv(out / "topics.csv", TOPIC_COLUMNS, all_rows)
        every_topic_new = bool(new) and new == all_rows  # a first run (all_rows is empty if written early)
        paths = {"topics": topics_path,
                 "new_topics": copy_file(topics_path, out / "new_topics.csv") if every_topic_new
                 else write_csv(out / "new_topics.csv", TOPIC_COLUMNS, new),
                 "changed_topics": write_csv(out / "changed_topics.csv", TOPIC_COLUMNS + ["merged_from"], changed),
                 "rejected": write_rejected(out / "rejected.csv", rejected),
                 "flagged": write_rejected(out / "flagged.csv", flagged, "note")}
        paths = {"assignments": assignments or assignments_job.wait(), **paths,
                 "topics_xlsx": workbook or workbook_job.wait()}
    record["timings"] = timer.rounded()
    paths["run"] = write_json(out / "run.json", record)
    return paths


def _with_sources(rows: list[tuple], merged: dict[str, str]) -> list[tuple]:
    """Changed topics with the ids merged into each (``merged_from``)."""
    sources: dict[str, list[str]] = {}
    for old, into in merged.items():
        sources.setdefault(into, []).append(old)
    return [(*row, " ".join(sorted(sources.get(row[0], [])))) for row in rows]
