"""Who may use the review page: a users file (CSV ``name,role``, role viewer or reviewer), or one person
named on the command line."""

from __future__ import annotations

import csv
from pathlib import Path

from dedup.review.decide import ROLES, Reviewer


class UsersError(ValueError):
    """A users file that cannot be read as asked (names the file and row)."""


def read_users(path: str | Path) -> dict[str, Reviewer]:
    path = Path(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.reader(fh))
    except OSError as exc:
        raise UsersError(f"{path}: cannot read the users file ({exc.strerror or exc})") from exc
    if not rows or [c.strip().lower() for c in rows[0][:2]] != ["name", "role"]:
        raise UsersError(f"{path}, row 1: the header must be name,role")
    users: dict[str, Reviewer] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        name, role = (row + ["", ""])[0].strip(), (row + ["", ""])[1].strip().lower()
        if not name:
            raise UsersError(f"{path}, row {line}: a user without a name")
        if role not in ROLES:
            raise UsersError(f"{path}, row {line}: role {role!r} is not one of {', '.join(ROLES)}")
        users[name] = Reviewer(name, role)
    if not users:
        raise UsersError(f"{path}: no users")
    return users
