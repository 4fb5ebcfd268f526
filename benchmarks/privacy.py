"""How well the personal-data recogniser (dedup/core/privacy.py) does: precision on real messages, recall on
a planted set.

    python benchmarks/privacy.py real      # name masks on 附件3, against labels read by hand
    python benchmarks/privacy.py planted   # every planted contact detail and name, masked or not

``real`` masks the 4,326 messages of ``../shared/data/real`` (subject and detail, as a run normalises
them), lists every name mask with its context, and scores them against
``benchmarks/labels/privacy_real_name_masks.csv``: message id, where the masked characters start in the
normalised text and how many they are, ``hides_a_name`` read by hand (1 when they are a person's name or
surname) and, for the others, what they are. The file holds no text of the messages. A mask the
labels do not hold is printed for reading; it is not guessed. ``planted`` reads
``tests/data/planted_personal_data.csv`` (text, detail).
"""

from __future__ import annotations

import argparse
import csv
import difflib
import re
import sys
import unicodedata
from pathlib import Path

from dedup.config import NormalizeConfig
from dedup.core.normalize import normalize
from dedup.core.privacy import NAME_MASK, mask

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "data" / "real" / "teddy2020c_fj3_messages_groups.csv"
LABELS = ROOT / "benchmarks" / "labels" / "privacy_real_name_masks.csv"
PLANTED = ROOT / "tests" / "data" / "planted_personal_data.csv"


def real_masks(path: Path = REAL) -> list[tuple[str, str, int, str, str]]:
    """(message id, mask, where the replaced characters start in the normalised text, those characters,
    their context) for every mask in the messages."""
    plain = NormalizeConfig(mask_contacts=False)
    out = []
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            text = normalize(row["subject"] + "。" + row["detail"], plain)
            masked = mask(text)
            matcher = difflib.SequenceMatcher(None, text, masked, autojunk=False)
            for op, a1, a2, b1, b2 in matcher.get_opcodes():
                if op != "equal":
                    out.append((row["message_id"], masked[b1:b2], a1, text[a1:a2],
                                text[max(0, a1 - 12):a2 + 8]))
    return out


def leaked(output: str, detail: str) -> bool:
    """Whether a planted detail survives in ``output``, as written or with its separators dropped."""
    def flat(s: str) -> str:
        return re.sub(r"[\s\-.()（）]", "", unicodedata.normalize("NFKC", s))
    return detail in output or flat(detail) in flat(output)


def planted(path: Path = PLANTED) -> tuple[int, list[tuple[str, str]]]:
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return len(rows), [(r["text"], normalize(r["text"])) for r in rows if leaked(normalize(r["text"]), r["detail"])]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=["real", "planted"])
    args = parser.parse_args(argv)
    if args.what == "planted":
        n, leaks = planted()
        print(f"planted details: {n}; leaked: {len(leaks)}")
        for text, out in leaks:
            print(f"  {text} -> {out}")
        return 1 if leaks else 0
    masks = real_masks()
    kinds: dict[str, int] = {}
    for _, kind, _, _, _ in masks:
        kinds[kind] = kinds.get(kind, 0) + 1
    names = [m for m in masks if m[1] == NAME_MASK]
    labels = read_labels()
    read = [(labels[(m[0], m[2], len(m[3]))], m) for m in names if (m[0], m[2], len(m[3])) in labels]
    unread = [m for m in names if (m[0], m[2], len(m[3])) not in labels]
    right = sum(label["hides_a_name"] == "1" for label, _ in read)
    print(f"masks on {REAL.name}: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])))
    print(f"name masks: {len(names)}; read: {len(read)}; hide a name: {right} "
          f"(precision {right / max(len(read), 1):.3f})")
    for label, (mid, _, _, hidden, context) in read:
        if label["hides_a_name"] != "1":
            print(f"  not a name ({label['kind']}): {mid} {hidden!r} in {context!r}")
    for mid, _, start, hidden, context in unread:
        print(f"  not read yet: {mid},{start},{len(hidden)} {hidden!r} in {context!r}")
    return 0


def read_labels() -> dict[tuple[str, int, int], dict]:
    """Labels by (message id, start, length) of the masked characters in the normalised text: the file
    holds no text of the messages (their terms allow internal evaluation only, not redistribution)."""
    with LABELS.open(encoding="utf-8", newline="") as fh:
        return {(r["message_id"], int(r["start"]), int(r["length"])): r for r in csv.DictReader(fh)}


if __name__ == "__main__":
    sys.exit(main())
