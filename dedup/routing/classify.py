"""Suggest the responsible unit for each topic: TF-IDF over jieba tokens and a calibrated linear model.

A topic is scored by averaging its members' class probabilities, weighted by
how many items carry each distinct text. Copies of one complaint differ in
greetings, names and typos; averaging lets the copies outvote a noisy
representative (see README "Routing" for the figures that decided it).
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from dedup.core.gazetteer import Gazetteer
from dedup.routing.features import (  # noqa: F401 (SegmentAnalyzer: models pickled under this module load)
    SegmentAnalyzer,
    _counted,
    _proba_chunk,
    bigram_ends,
)
from dedup.runtime.parallel import can_fork, die_with_parent, map_chunks, receive_outcome, send_outcome
from dedup.storage import modelfile
from dedup.storage.modelfile import ModelError, ModelUnavailable, file_sha256, sidecar_path  # noqa: F401 (the module's API)

MODEL_FORMAT = 1


def topic_scores(proba: np.ndarray, topic: np.ndarray, weight: np.ndarray, n_topics: int) -> np.ndarray:
    """Weighted mean of member probabilities per topic, shape (n_topics, n_classes)."""
    sums = np.stack([np.bincount(topic, weights=column * weight, minlength=n_topics) for column in proba.T], axis=1) \
        if proba.shape[1] else np.zeros((n_topics, 0))
    totals = np.bincount(topic, weights=weight, minlength=n_topics)
    return sums / np.maximum(totals, 1e-12)[:, None]


@dataclass
class Router:
    """A loaded department model."""

    pipeline: object
    path: Path
    sidecar: dict

    @property
    def labels(self) -> list[str]:
        return [str(c) for c in self.pipeline.classes_]

    def reads_tokens_of(self, gazetteer: Gazetteer) -> bool:
        """Whether a run's tokens, cut with ``gazetteer``, are the words this model reads (its sidecar
        records the gazetteer it was trained with); when not, the model is given the texts to cut itself."""
        return self.sidecar.get("gazetteer_sha256") == gazetteer.sha256

    def predict_proba(self, texts: Sequence[str | list[str]], workers: int = 0) -> np.ndarray:
        """Class probabilities per text, computed on every core for large inputs."""
        texts = list(texts)
        if not texts:
            return np.empty((0, len(self.labels)))
        vectorizer = _counted(self.pipeline)
        if vectorizer is not None:
            bigram_ends(vectorizer.vocabulary_)  # made here, inherited by the workers
        return np.vstack(map_chunks(partial(_proba_chunk, pipeline=self.pipeline), texts, workers))

    def route(self, topics, docs: Sequence[str | list[str]], weight: np.ndarray, topic_index: np.ndarray,
              review_below: float) -> None:
        """Fill each topic's department, score, top-3 and review flag from its members.

        ``docs`` are member texts (or their tokens) and ``topic_index`` says
        which topic each belongs to; a topic's score is the weighted mean of its
        members' probabilities.
        """
        scores = topic_scores(self.predict_proba(docs), topic_index, weight, len(topics))
        labels = np.asarray(self.labels, dtype=object)
        top = np.argsort(-scores, axis=1, kind="stable")[:, :3]
        for t, topic in enumerate(topics):
            topic.department = str(labels[top[t, 0]])
            topic.department_score = float(scores[t, top[t, 0]])
            topic.department_top3 = [(str(labels[k]), round(float(scores[t, k]), 4)) for k in top[t]]
            topic.needs_review = topic.department_score < review_below


def fit_check(sidecar: dict, scores: Sequence[float], review_below: float) -> str:
    """Plain words when tonight's topics score far lower than the model's held-out topics did: more than
    twice the held-out share below ``review_below``, and over a fifth of tonight's. '' when they fit, or
    when the model records no held-out scores (trained before it did)."""
    held = sidecar.get("metrics", {}).get("topic_scores")
    if not held or not len(scores):
        return ""
    held_share = float(np.searchsorted(np.asarray(held), review_below, side="left")) / len(held)
    share = float(np.mean(np.asarray(scores) < review_below))
    if share <= 0.2 or share <= 2 * held_share:
        return ""
    return (f"warning: the department model does not fit tonight's messages: {share:.0%} of topics scored below "
            f"{review_below} (flagged for review) against {held_share:.0%} of its held-out topics; train one on "
            "this city's history with `dedup train`")


def save_model(pipeline, path: Path, sidecar: dict) -> None:
    """The model (a joblib pickle) and its sidecar, which records the pickle's SHA-256: a run loads a
    model only when the file is the one its sidecar describes."""
    modelfile.save({"format": MODEL_FORMAT, "pipeline": pipeline}, path, sidecar)


def load_router(path: str | Path) -> Router:
    """Load a model; ModelUnavailable when absent or incompatible, ModelError when unreadable."""
    import sklearn

    path = Path(path)
    if not path.exists():
        raise ModelUnavailable(f"no department model at {path} (train one with `dedup train`)")

    def same_library(sidecar: dict) -> None:
        made_with = sidecar.get("versions", {}).get("scikit-learn")
        if made_with and made_with.split(".")[:2] != sklearn.__version__.split(".")[:2]:
            raise ModelUnavailable(f"{path} was made with scikit-learn {made_with}, this is {sklearn.__version__}; "
                                   "retrain it with `dedup train`")

    payload, sidecar = modelfile.load(path, "department model", before=same_library)
    if not isinstance(payload, dict) or "pipeline" not in payload:
        raise ModelError(f"{path}: not a dedup department model")
    if payload.get("format") != MODEL_FORMAT:
        raise ModelUnavailable(f"{path} has model format {payload.get('format')}, this dedup reads {MODEL_FORMAT}")
    model = payload["pipeline"]
    if not (hasattr(model, "predict_proba") and hasattr(model, "classes_")):
        raise ModelError(f"{path}: holds a {type(model).__name__}, not a fitted classifier with probabilities")
    return Router(model, path, sidecar)


def find_model(path: str | Path) -> Path:
    """The model file a configured path names: as given when absolute or found from the working folder,
    else beside the package's checkout (its models/ folder), so that `dedup run` routes from any folder."""
    path = Path(path)
    if path.is_absolute() or path.exists():
        return path
    beside = Path(__file__).resolve().parents[2] / path
    return beside if beside.exists() else path


class RouterLoader:
    """The department model, loaded by a forked process while the run reads and clusters.

    Importing scikit-learn and unpickling the model take seconds that a night
    would otherwise spend at its end; the process then answers the run's
    predictions. Where fork is unavailable the model loads in-process when asked for.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = find_model(path)
        self.conn = self.process = None
        self._router: Router | None = None
        self._error: BaseException | None = None
        if can_fork():
            ctx = mp.get_context("fork")
            self.conn, child = ctx.Pipe()
            # not a daemon: it spreads large predictions over forked workers of its own
            self.process = ctx.Process(target=_serve_router, args=(child, self.path, os.getpid()))
            self.process.start()
            child.close()

    def __enter__(self) -> RouterLoader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def router(self) -> Router:
        """The loaded model; raises what ``load_router`` raises (every time it is asked)."""
        if self._error is not None:
            raise self._error
        if self._router is None:
            try:
                if self.conn is None:
                    self._router = load_router(self.path)
                else:
                    labels, path, sidecar = self._receive()
                    self._router = _RemoteRouter(self, labels, path, sidecar)
            except BaseException as exc:
                self._error = exc
                raise
        return self._router

    def ask(self, texts: list) -> np.ndarray:
        self.conn.send(texts)
        return self._receive()

    def _receive(self):
        return receive_outcome(self.conn, self.process, f"the department model {self.path}")

    def close(self) -> None:
        if self.process is None:
            return
        if self._router is not None and self.process.is_alive():
            self.conn.send(None)  # done: it exits after its last answer
            self.process.join(timeout=5)
        if self.process.is_alive():  # never asked, or not answering: it holds nothing worth waiting for
            self.process.terminate()
            self.process.join()
        self.conn.close()
        self.process = None


class _RemoteRouter(Router):
    """A Router whose model lives in a RouterLoader's process."""

    def __init__(self, loader: RouterLoader, labels: list[str], path: Path, sidecar: dict) -> None:
        super().__init__(None, path, sidecar)
        self._loader, self._labels = loader, labels

    @property
    def labels(self) -> list[str]:
        return self._labels

    def predict_proba(self, texts: Sequence[str | list[str]], workers: int = 0) -> np.ndarray:
        return self._loader.ask(list(texts))


def _serve_router(conn, path: Path, parent: int) -> None:
    die_with_parent(parent)
    try:
        router = load_router(path)
    except BaseException as exc:
        send_outcome(conn, False, exc)
        return
    send_outcome(conn, True, (router.labels, router.path, router.sidecar))
    while True:
        try:
            texts = conn.recv()
        except EOFError:  # the run is gone
            return
        if texts is None:
            return
        try:
            send_outcome(conn, True, router.predict_proba(texts))
        except BaseException as exc:
            send_outcome(conn, False, exc)


