"""Pair scorer files: the shipped one and those `dedup tune --fit-scorer` writes, each a joblib pickle with a
sidecar that records its SHA-256, what it was fitted on and how well it did (``modelfile``)."""

from __future__ import annotations

import datetime as dt
import functools
from importlib import resources
from pathlib import Path

import numpy as np

from dedup.core.scorer import FEATURES, PairScorer
from dedup.storage import modelfile

SCORER_FORMAT = 1


def save(scorer: PairScorer, path: Path, sidecar: dict) -> None:
    """The scorer and a sidecar (its SHA-256, what it was fitted on, when, how well it did)."""
    import sklearn

    sidecar = {"kind": "dedup pair scorer", "format": SCORER_FORMAT, "features": list(FEATURES),
               "fitted_at": dt.datetime.now().isoformat(timespec="seconds"),
               "scikit-learn": sklearn.__version__, **sidecar}
    modelfile.save({"format": SCORER_FORMAT, "features": FEATURES, "model": scorer.model,
                    "reference": scorer.reference}, Path(path), sidecar)
    scorer.path, scorer.sidecar = str(path), sidecar


@functools.lru_cache(maxsize=4)
def _load(path: str, size: int, mtime_ns: int) -> PairScorer:
    import sklearn

    def same_library(sidecar: dict) -> None:
        made_with = str(sidecar.get("scikit-learn", ""))
        if made_with.split(".")[:2] != sklearn.__version__.split(".")[:2]:
            raise modelfile.ModelError(f"{path} was fitted with scikit-learn {made_with or 'unknown'}, this is "
                                       f"{sklearn.__version__}; fit it again (`dedup tune --fit-scorer`)")

    payload, sidecar = modelfile.load(Path(path), "pair scorer", before=same_library)
    if (not isinstance(payload, dict) or payload.get("format") != SCORER_FORMAT
            or tuple(payload.get("features", ())) != FEATURES or not hasattr(payload.get("model"), "predict_proba")):
        raise modelfile.ModelError(f"{path}: not a dedup pair scorer over {', '.join(FEATURES)}")
    return PairScorer(payload["model"], np.asarray(payload["reference"], dtype=np.float64), path, sidecar)


DEFAULT = "default"


def default_path() -> Path:
    """The shipped scorer (fitted by ``benchmarks/fit_scorer.py`` on real, stress and generated pairs)."""
    return Path(str(resources.files("dedup") / "data" / "pair_scorer.joblib"))


def load_scorer(path: str | Path | None) -> PairScorer | None:
    """The scorer at ``path`` ("default": the shipped one), read once per file version, or None for
    ``""``/``"none"`` (Jaccard alone decides); ModelError when the file is missing or not one its
    sidecar vouches for."""
    if not path or str(path).lower() == "none":
        return None
    path = default_path() if str(path) == DEFAULT else Path(path)
    try:
        st = path.stat()
    except OSError:
        raise modelfile.ModelError(f"no pair scorer at {path} (cluster.scorer)") from None
    return _load(str(path), st.st_size, st.st_mtime_ns)
