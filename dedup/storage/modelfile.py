"""Model files a run loads: a joblib pickle and a JSON sidecar that records the pickle's SHA-256.

Unpickling runs whatever code a file holds, so nothing is unpickled before the
file is shown to be the one its sidecar describes (the department model and the
pair scorer alike), and a model or folder anyone on the machine may replace is
reported.
"""

from __future__ import annotations

import hashlib
import io
import json
import stat
from pathlib import Path


class ModelUnavailable(Exception):
    """No usable model: the step that needs it is skipped and the run goes on."""


class ModelError(Exception):
    """A model file exists but cannot be used: the run stops with this message (exit 5)."""


def sidecar_path(model_path: Path) -> Path:
    return Path(model_path).with_suffix(".json")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def save(payload: dict, path: Path, sidecar: dict) -> None:
    """Write the payload (a joblib pickle) and its sidecar with the pickle's SHA-256."""
    import joblib

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(payload, path, compress=3)
    sidecar["model_sha256"] = file_sha256(path)
    sidecar_path(path).write_text(json.dumps(sidecar, ensure_ascii=False, indent=2), encoding="utf-8")


def exposed(path: Path) -> str:
    """Why anyone on the machine could replace the model (a world-writable file or folder), or ''."""
    for place in (path, path.parent):
        try:
            mode = place.stat().st_mode
        except OSError:
            continue
        if mode & stat.S_IWOTH and not (place.is_dir() and mode & stat.S_ISVTX):
            return f"warning: {place} is writable by every user, and a model file runs the code it holds"
    return ""


# Where the classes a model pickles used to live: a model trained before the package was laid out by
# layer names them so, and loads through these names.
_MOVED = {"dedup.classify": "dedup.routing.classify", "dedup.segment": "dedup.core.segment",
          "dedup.gazetteer": "dedup.core.gazetteer"}


def _old_names() -> None:
    import importlib
    import sys

    for old, new in _MOVED.items():
        if old not in sys.modules:
            sys.modules[old] = importlib.import_module(new)


def load(path: Path, what: str, before=None) -> tuple[object, dict]:
    """(the unpickled payload, the sidecar) of a model file whose sidecar vouches for it.

    ModelUnavailable when the file is absent; ModelError when it is not the file its sidecar
    describes, has no sidecar, or does not unpickle. ``what`` names the model in messages; ``before``
    (called with the sidecar) may refuse the model before it is unpickled."""
    import joblib

    path = Path(path)
    if not path.exists():
        raise ModelUnavailable(f"no {what} at {path}")
    if not path.is_file():
        raise ModelError(f"{path}: not a model file")
    try:
        sidecar = json.loads(sidecar_path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{path}: no sidecar {sidecar_path(path).name} beside it; a model file runs the code it "
                         "holds, so dedup loads only one whose sidecar records its SHA-256 (`dedup train` and "
                         "`dedup tune --fit-scorer` write both)") from None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"{sidecar_path(path)}: sidecar is not valid JSON ({exc})") from exc
    if not isinstance(sidecar, dict) or not sidecar.get("model_sha256"):
        raise ModelError(f"{sidecar_path(path)}: the sidecar records no model_sha256; make the model again")
    data = path.read_bytes()  # hashed and unpickled from one read: the file cannot be swapped in between
    if hashlib.sha256(data).hexdigest() != sidecar["model_sha256"]:
        raise ModelError(f"{path}: the file is not the model its sidecar describes (SHA-256 differs); "
                         "it was changed or replaced after it was written")
    if before is not None:
        before(sidecar)
    _old_names()
    try:
        payload = joblib.load(io.BytesIO(data))
    except Exception as exc:  # a damaged pickle can raise almost anything
        raise ModelError(f"{path}: model file is corrupt or not a dedup {what} ({type(exc).__name__}: {exc})") from exc
    sidecar["_warning"] = exposed(path)
    return payload, sidecar
