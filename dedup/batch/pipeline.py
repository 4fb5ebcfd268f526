"""The library API behind ``dedup run`` and ``dedup rebuild``.

A run reads every input before it touches the database. On an empty
database it clusters the night whole; on one with an index it attaches the
night to the stored topics (``incremental.attach``), reading only the stored
texts the index points it to. Everything a run decides is written in one
transaction, with the index segment written just before it; a full run or
rebuild opens that transaction in a forked process that inserts the nodes
while the run clusters and the items while it summarises and routes, and
commits once it is sent the topics. Exports are written after the commit,
from what was committed.
"""

from __future__ import annotations

import datetime as dt
import gc
import heapq
import json
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np

from dedup import __version__
from dedup.batch import budget
from dedup.batch.engine import Nodes, StageTimer, candidates, cluster_signed, group_texts, sign
from dedup.batch.held import hold_topics, keep_staff_units
from dedup.batch.incremental import attach
from dedup.batch.plan import BeginItems, BeginNodes, Decided, Finish, Plan, Topics, index_params
from dedup.batch.prepare import check_prepared, file_digest, prepare
from dedup.batch.publish import Done, EarlyExports, write_assignments, write_exports
from dedup.batch.summaries import night_summaries
from dedup.batch.writes import FullRows, write_full, write_plan
from dedup.config import Config
from dedup.core.gazetteer import load_gazetteer
from dedup.core.records import Item, Rejection
from dedup.core.segment import segmenter_for
from dedup.core.topics import (
    TOPIC_COLUMNS,
    TopicSummary,
    assign_ids,
    numbering_order,
    received_times,
    topic_row,
)
from dedup.io.export import write_csv, write_rejected, write_xlsx
from dedup.io.ingest import check_file, ingest
from dedup.routing.classify import ModelUnavailable, RouterLoader, fit_check
from dedup.runtime.parallel import is_serial, serial
from dedup.storage import decisions
from dedup.storage.index import Index, index_root, remove_unlisted, write_segment
from dedup.storage.store import NotFound, Store, StoreError, run_lock, topic_records
from dedup.storage.transaction import Transaction


@dataclass
class RunReport:
    run_id: int
    counts: dict[str, int]
    timings: dict[str, float]
    topics: list[TopicSummary]        # topics this run created or changed
    rejected: list[Rejection]
    merged: dict[str, str]
    routing: str                      # "routed with ..." or why routing was skipped
    outputs: dict[str, Path] = field(default_factory=dict)
    relisted: int | None = None       # an earlier run whose cut-off lists this run wrote again
    unexported: int | None = None     # an earlier run whose lists were cut off and not written again
    # the run's working data (items, nodes, plan), freed with the report rather than on return: a
    # program that exits once it has printed the report skips seconds of freeing millions of objects
    held: tuple = field(default=(), repr=False, compare=False)

    def largest(self, k: int = 5) -> list[TopicSummary]:
        return heapq.nsmallest(k, self.topics, key=lambda t: (-t.size, t.topic_id))


class ExportError(Exception):
    """The run is stored, but its files could not be written (a full disk, a folder not writable)."""


@contextmanager
def _locked(db_path: Path) -> Iterator[Store]:
    """The database, held against other runs for as long as the block lasts.

    The cyclic garbage collector is paused meanwhile: a run builds millions of
    small objects that form no cycles, and each collection would walk them all
    again (seconds at 1.28M items). Reference counting still frees them. They
    are moved to the oldest generation before it resumes, or its first
    collection would walk every one of them (2.7 s at 1.28M).
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        with run_lock(db_path):
            store = Store(db_path)
            try:
                yield store
            finally:
                store.close()
    finally:
        if collecting:
            if not gc.get_freeze_count():  # (a caller's own frozen objects stay frozen)
                gc.freeze()  # everything tracked goes to the permanent generation, then back to the oldest
                gc.unfreeze()
            gc.enable()


def run(paths: Sequence[str | Path], db_path: str | Path, out_dir: str | Path | None, config: Config,
        model_path: str | Path | None = None, progress: bool = False, now: dt.datetime | None = None) -> RunReport:
    """Add the exports to the database and write tonight's files; see the module docstring. With
    ``run.serial`` every stage runs in this process, one after another (``parallel.serial``)."""
    with serial(config.run.serial):
        return _run(paths, db_path, out_dir, config, model_path, progress, now)


def _run(paths: Sequence[str | Path], db_path: str | Path, out_dir: str | Path | None, config: Config,
         model_path: str | Path | None = None, progress: bool = False, now: dt.datetime | None = None) -> RunReport:
    paths = [Path(p) for p in paths]
    db_path = Path(db_path)
    started = dt.datetime.now().isoformat(timespec="seconds")
    timer = StageTimer(progress)
    for path in paths:  # before the lock: a FIFO, a device or a folder must not hold it
        check_file(path, config.ingest)
    budget.check(paths, config.run.budget_bytes)  # before the lock: a run that cannot fit stores nothing
    with _locked(db_path) as store, RouterLoader(model_path or config.classify.model) as loader, \
            ExitStack() as stack:
        with timer("ingest"), ThreadPoolExecutor(1) as hasher:
            # hashing lets go of the GIL: done beside the parsing (in serial mode, before it)
            digests = list(map(file_digest, paths)) if is_serial() else hasher.map(file_digest, paths)
            result = ingest(paths, config.ingest, store.contents_for, now)
            inputs = [{"file": str(p), "sha256": digest} for p, digest in zip(paths, digests)]
        prepared = prepare(result.items, config, segmenter_for(config), timer, progress)
        check_prepared(prepared.nodes, config)  # nothing is stored yet: a run that cannot fit stops here
        items, rejected = prepared.items, result.rejected + prepared.rejected
        index_meta = json.loads(store.meta("index") or "null")
        # a run that adds nothing after one whose exports were cut off writes that run's lists again. Read
        # now: once a full run's writer holds the database, a read here made its commit wait out the busy
        # timeout at 100k items (the writer spills its cache under a lock this read then holds up)
        unexported = store.unexported_run()
        if not items:
            plan = Plan([], [], {}, set())
        elif index_meta is None:
            record = {"kind": "run", "started": started, "inputs": inputs, "config": config.to_dict()}
            plan = _plan_full(store, items, prepared.nodes, {}, config, timer, stack, record, out_dir)
        else:
            # an index built before a setting existed was built without it
            built = {"boilerplate": False, "entities": False, "gazetteer": "the built-in one", **index_meta["params"]}
            if built != index_params(config):
                differ = sorted(k for k, v in index_params(config).items() if built.get(k) != v)
                raise StoreError(f"{db_path}: the index was built with other signature or LSH settings "
                                 f"({', '.join(f'{k} {built.get(k)}' for k in differ)}); run `dedup rebuild` with "
                                 "tonight's settings first, or run with the index's (e.g. --set "
                                 "sign.entities=false, or the config file naming the gazetteer it was built with)")
            index = Index(index_root(db_path), index_meta["segments"])
            plan = attach(store, index, items, prepared.nodes, config, timer,
                          np.array(index_meta.get("boilerplate", []), dtype=np.uint32))
        flagged = result.flagged
        counts = {"rows_read": result.rows_read, "new_items": len(items), "repeats": result.repeats,
                  "rejected": len(rejected), "flagged": len(flagged),
                  "flagged_channel": sum("channel" in f.reason for f in flagged),
                  "flagged_time": sum("time" in f.reason for f in flagged)}
        record = RunRecord("run", started, inputs, counts, rejected, flagged,
                           relist=unexported if not items and not plan.moves else None)
        report = _commit(store, db_path, plan, record, config, loader, timer, out_dir, index_meta)
        report.unexported = unexported if items or plan.moves else None
    report.held = (result, prepared, plan)
    return report


def rebuild(db_path: str | Path, out_dir: str | Path | None, config: Config, model_path: str | Path | None = None,
            progress: bool = False) -> RunReport:
    """Recluster every stored item with ``config``; topics keep the old id they overlap most."""
    with serial(config.run.serial):
        return _rebuild(db_path, out_dir, config, model_path, progress)


def _rebuild(db_path: str | Path, out_dir: str | Path | None, config: Config, model_path: str | Path | None = None,
             progress: bool = False) -> RunReport:
    db_path = Path(db_path)
    started = dt.datetime.now().isoformat(timespec="seconds")
    timer = StageTimer(progress)
    with _locked(db_path) as store, RouterLoader(model_path or config.classify.model) as loader, \
            ExitStack() as stack:
        with timer("load"):
            stored = store.all_items()
            tokens_of = {row.text: row.tokens.split(" ") for row in store.all_nodes()}
        items = [it for it, _, _ in stored]
        previous = {it.id: topic for it, _, topic in stored}
        with timer("sign"):
            nodes = group_texts([it.id for it in items], [it.text for it in items],
                                [tokens_of[it.text] for it in items])
        record = {"kind": "rebuild", "started": started, "inputs": [], "config": config.to_dict()}
        check_prepared(nodes, config)
        index_meta = json.loads(store.meta("index") or "null")  # read before the writer holds the database
        # topics a person decided on are kept whole, with their units (read before the writer holds it)
        kept = decisions.held_topics(store.db)
        held = {item: topic for item, topic in previous.items() if topic in kept}
        units = decisions.staff_units(store.db)
        plan = _plan_full(store, items, nodes, previous, config, timer, stack, record, out_dir, held)
        counts = {"rows_read": 0, "new_items": 0, "repeats": 0, "rejected": 0}
        report = _commit(store, db_path, plan, RunRecord("rebuild", started, [], counts, staff_units=units), config,
                         loader, timer, out_dir, index_meta)
    report.held = (stored, tokens_of, items, previous, nodes, plan)
    return report


def _plan_full(store: Store, items: list[Item], nodes: Nodes, previous: dict[str, str], config: Config,
               timer: StageTimer, stack: ExitStack, record: dict, out_dir: str | Path | None = None,
               held: dict[str, str] | None = None) -> Plan:
    """Cluster these items (copies share one node, signed once) from scratch; ``previous`` (item -> topic)
    keeps old ids where they overlap.

    Its transaction opens in a forked writer before the signatures exist, so
    that the writer never holds on to their pages. It inserts the nodes while
    clustering runs on one core (not sooner: signing and candidates would
    slow down), the items once the run has clustered, and the nodes' topics
    once they are numbered.
    ``record`` is the run's (kind, started, inputs, config) for the writer;
    with ``out_dir``, the writer also writes assignments.csv (early, under its
    temporary name) once it has the topics, while the run writes the workbook.
    ``held`` (item -> topic) are the items of topics a person decided on: those topics stay whole.
    """
    with timer("store"):
        # node ids in the order of the nodes' keys (smallest item ids): whatever order the items came in
        node_id = nodes.ranked_keys()
        # what the run reads of the database, read before the writer holds it
        next_number = store.next_topic_number()
        stored_topics = store.topic_ids()
        full = FullRows(items, nodes, node_id, rebuild=bool(previous))
        assignments = Path(out_dir) / "assignments.csv" if out_dir is not None else None
        writer = Transaction(store, partial(write_full, full=full, assignments=assignments, **record), ahead=True)
        stack.callback(writer.abandon)
    signed = sign(nodes, config, timer)
    buckets = candidates(signed, config, timer)
    signed.columns = None  # (355 MB at 1.28M) banded: not needed to cluster
    writer.send(BeginNodes())
    clustering = cluster_signed(nodes, signed, config, timer, buckets)
    del buckets
    if held:
        hold_topics(clustering, nodes, items, held)
    writer.send(BeginItems())
    with timer("summarise"):
        n_topics = len(clustering.centre_node)
        members: list[list[str]] = [[] for _ in range(n_topics)]  # a rebuild: members' previous topics vote
        if previous:
            for it, t in zip(items, clustering.item_topic.tolist()):
                members[t].append(it.id)
        full.times = received_times(items)  # for numbering now and for the summaries later
        order = numbering_order(items, nodes.item_node, clustering.node_topic, nodes.keys, n_topics, full.times,
                               nodes.ranked_keys())
        ids, merged, _ = assign_ids(members, previous, next_number, order)
        full.decide(ids, clustering.node_topic, clustering.centre_node)
        writer.send(Decided(*full.decided))
    centres = clustering.centre_node
    indexed = (node_id[centres], signed.sig[centres], clustering.place_codes[:, centres])
    return Plan([], [], merged, set(ids), indexed, True, clustering.stats, full=full, writer=writer,
                known=stored_topics & set(ids), boilerplate=signed.boilerplate.tolist())


@dataclass
class RunRecord:
    """What a run is, apart from what it decided: its kind, when it began, its inputs and counts, the rows
    it refused or flagged, and (``relist``) an earlier run whose lists it writes instead of its own."""

    kind: str
    started: str
    inputs: list
    counts: dict
    rejected: list[Rejection] = field(default_factory=list)
    flagged: Sequence[Rejection] = ()
    relist: int | None = None
    staff_units: dict[str, str] | None = None  # topic -> the unit a person gave it (None: read them now)


def _commit(store: Store, db_path: Path, plan: Plan, record: RunRecord, config: Config, loader: RouterLoader,
            timer: StageTimer, out_dir, index_meta) -> RunReport:
    """Store the plan in one transaction, then write the exports (an earlier run's lists with
    ``record.relist``: new and changed topics, rejected and flagged rows)."""
    kind, started, inputs, counts = record.kind, record.started, record.inputs, record.counts
    rejected, flagged, relist = record.rejected, record.flagged, record.relist
    with ExitStack() as stack:
        early = EarlyExports(stack, Path(out_dir)) if out_dir is not None else None
        if early is not None and not plan.replace_index:  # a night: stored assignments + tonight's
            early.start_night_assignments(store.path, store.last_run(), plan)
        if plan.writer is not None:  # a full run or rebuild writes its items while it summarises and routes
            writer, known = plan.writer, plan.known
        else:
            known = store.topic_ids(sorted(plan.affected))
            writer = Transaction(store, partial(write_plan, plan=plan, kind=kind, started=started, inputs=inputs,
                                                config=config.to_dict()))
            stack.callback(writer.abandon)
        with timer("summarise"):
            if plan.full is not None:
                topics, tokens, weight, node_topic, sample, place = plan.full.summaries()
            elif plan.affected:
                topics, tokens, weight, node_topic, sample, place = night_summaries(store, plan)
            else:
                none = np.zeros(0, dtype=np.int64)
                topics, tokens, weight, node_topic, sample, place = [], [], np.zeros(0), none, none, none
        routed = sample[place < config.classify.members]  # a topic's first few: see ClassifyConfig.members
        routing = _route(topics, tokens, weight, node_topic, routed, config, loader, timer) if topics \
            else "routing: no topic changed"
        if topics and (record.staff_units is not None or plan.writer is None):  # the units people gave stay
            keep_staff_units(topics, record.staff_units if record.staff_units is not None
                              else decisions.staff_units(store.db))
        loader.close()  # the model's process ends before the run's busiest memory: the commit and exports
        merged = dict(plan.moves)
        counts.update({"topics_changed": len(topics), "new_topics": len(plan.affected - known),
                       "merged_topics": len(merged),
                       **{f"cluster_{k}": v for k, v in plan.stats.items()}})
        root = index_root(db_path)
        segments = list(index_meta["segments"]) if index_meta else []
        segment = None
        if plan.indexed is not None and len(plan.indexed[0]):
            segment = f"seg-{int(plan.indexed[0].min()):010d}-{dt.datetime.now():%Y%m%d%H%M%S%f}"
            segments = [segment] if plan.replace_index else segments + [segment]
        boilerplate = plan.boilerplate if plan.boilerplate is not None else \
            (index_meta or {}).get("boilerplate", [])
        new_index = json.dumps({"segments": segments, "params": index_params(config), "boilerplate": boilerplate}) \
            if plan.node_rows or plan.full is not None else None
        rows = [tuple(topic_row(t)) for t in topics]  # made once, for the database and the workbook
        if early is not None and not plan.replace_index:  # stored topics, tonight's replacing theirs
            early.start_topics(store.path, store.last_run(), topics, merged)
        if early is not None:
            early.wait_for_snapshots()  # so that they read the database as it was before this run
        # the topics first: a full run's writer stores them while the segment is written, and it commits
        # only after the run's record, which follows the segment (the index never names a missing one)
        writer.send(Topics(topic_records(topics), merged, rejected, flagged, new_index))
        with timer("index"):
            if segment is not None:
                node_ids, sig, codes = plan.indexed
                params = index_params(config)
                write_segment(root, segment, node_ids, sig, codes, params["bands"], params["rows"])
        with timer("store"):
            finished = dt.datetime.now().isoformat(timespec="seconds")
            writer.send(Finish(finished, counts, timer.rounded()))
            if early is not None and plan.replace_index:  # every row is known: written while the writer commits
                early.write_workbook(rows)  # and topics.csv (the writer writes assignments.csv: see _write_full)
            run_id, rows_seconds, written = writer.result()
            if early is not None and written is not None:
                early.assignments = Done(written)
        timer.seconds["store_rows"] = rows_seconds
        remove_unlisted(root, segments)
        report = RunReport(run_id, counts, timer.rounded(), topics, rejected, merged, routing)
        report.relisted = relist
        if out_dir is not None:
            try:
                with timer("write"):
                    report.outputs = write_exports(store, Path(out_dir), run_id, rejected, {
                        "run_id": run_id, "kind": kind, "dedup_version": __version__, "started_at": started,
                        "finished_at": finished, "inputs": inputs, "counts": counts, "routing": routing,
                        "merged": merged, "config": config.to_dict(), "lists_of_run": relist or run_id},
                        timer, whole=plan.replace_index, early=early, flagged=flagged, relist=relist)
            except OSError as exc:
                raise ExportError(f"{out_dir}: the run is stored as run {run_id}, but its files could not be "
                                  f"written ({exc.strerror or exc}); `dedup export --run {run_id}` writes them, "
                                  "and so does the next run if it has nothing new") from exc
            report.timings = timer.rounded()
        store.mark_exported([run_id] + ([relist] if relist else []))
    return report


def export_run(db_path: str | Path, out: str | Path, run_id: int | None = None) -> dict[str, Path]:
    """Write run ``run_id``'s lists again from the database (default: the latest run): its new and
    changed topics as they stand now, its rejected and flagged rows, with every topic and assignment
    as they stand now. Records the run's exports as written."""
    out = Path(out)
    with _locked(Path(db_path)) as store:
        last = store.last_run()
        run_id = last if run_id is None else run_id
        if not 1 <= run_id <= last:
            raise NotFound(f"{db_path}: no run {run_id} (runs are 1 to {last})")
        out.mkdir(parents=True, exist_ok=True)
        all_rows = store.topic_rows()[0]
        new, changed = store.run_lists(run_id)
        rejected, flagged = store.problems(run_id)
        paths = {"assignments": write_assignments(store.path, out / "assignments.csv"),
                 "topics": write_csv(out / "topics.csv", TOPIC_COLUMNS, all_rows),
                 "new_topics": write_csv(out / "new_topics.csv", TOPIC_COLUMNS, new),
                 "changed_topics": write_csv(out / "changed_topics.csv", TOPIC_COLUMNS + ["merged_from"], changed),
                 "rejected": write_rejected(out / "rejected.csv", rejected),
                 "flagged": write_rejected(out / "flagged.csv", flagged, "note"),
                 "topics_xlsx": write_xlsx(out / "topics.xlsx", {"new": (TOPIC_COLUMNS, new),
                                                                   "changed": (TOPIC_COLUMNS + ["merged_from"],
                                                                               changed)})}
        store.mark_exported([run_id])
    return paths


def _route(topics: list[TopicSummary], node_tokens: list[list[str]], node_weight: np.ndarray,
           node_topic: np.ndarray, sample: np.ndarray, config: Config, loader: RouterLoader,
           timer: StageTimer) -> str:
    """Fill department columns, or say why routing was skipped (the run still succeeds)."""
    with timer("classify"):
        try:
            router = loader.router()
        except ModelUnavailable as exc:
            return f"routing skipped: {exc}"
        docs = [node_tokens[k] for k in sample]
        recut = not router.reads_tokens_of(load_gazetteer(config.places.gazetteer))
        if recut:  # the model reads words cut with another gazetteer's: it cuts the texts' words again itself
            docs = ["".join(words) for words in docs]
        router.route(topics, docs, node_weight[sample], node_topic[sample], config.classify.review_below)
    warning = "\n".join(w for w in (router.sidecar.get("_warning"), fit_check(
        router.sidecar, [t.department_score for t in topics], config.classify.review_below)) if w)
    if recut:
        warning = (warning + "\n" if warning else "") + (
            f"note: the model was trained with another gazetteer ({router.sidecar.get('gazetteer') or 'none'}) "
            f"than this run's ({config.places.gazetteer or 'none'}); it re-cut the texts with its own")
    return f"routed with {router.path} ({len(router.labels)} units)" + (f"\n{warning}" if warning else "")
