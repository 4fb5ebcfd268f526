"""How fast the review page answers: the queue, and the first and last page of a topic of N members.

    python benchmarks/review_page.py [--members 5000 50000] [--export sample_data/export.csv]

The export is run into a new database; the largest topic is then given N extra members (copies of its
centre's text, as a campaign's form letter would be) and each page is asked for five times through
Starlette's test client (routing, the database reads, rendering); the median is reported.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dedup.batch.pipeline import run  # noqa: E402
from dedup.config import load_config  # noqa: E402
from dedup.review.app import create_app  # noqa: E402
from dedup.review.decide import Reviewer  # noqa: E402
from dedup.storage.store import Store  # noqa: E402


def timed(client, url: str, times: int = 5) -> float:
    spans = []
    for _ in range(times):
        start = time.perf_counter()
        response = client.get(url)
        spans.append(time.perf_counter() - start)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(spans)


def main() -> None:
    from starlette.testclient import TestClient

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--export", type=Path, default=ROOT / "sample_data" / "export.csv")
    parser.add_argument("--config", type=Path, default=ROOT / "sample_data" / "dedup.toml")
    parser.add_argument("--members", type=int, nargs="+", default=[5000, 50000])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "d.sqlite"
        run([args.export], path, None, load_config(args.config))
        store = Store(path)
        topic, node, size = store.db.execute(
            "SELECT t.topic_id, n.node_id, t.size FROM topics t JOIN nodes n ON n.topic_id = t.topic_id"
            " AND n.is_centre = 1 ORDER BY t.size DESC LIMIT 1").fetchone()
        store.close()
        client = TestClient(create_app(path, {"bench": Reviewer("bench")}), base_url="http://127.0.0.1")
        client.post("/login", data={"name": "bench"})
        print(f"queue (first page of {args.export.name}'s topics): {timed(client, '/?status=all') * 1000:.0f} ms")
        added = 0
        for n in args.members:
            store = Store(path)
            with store.transaction() as con:
                con.executemany("INSERT INTO items VALUES (?, '2019-03-09 10:00:00', 'phone', 'x', '', 'bench', 1,"
                                " 1, ?)", [(f"BENCH{k:07d}", node) for k in range(added, n)])
                con.execute("UPDATE topics SET size = ? WHERE topic_id = ?", (size + n, topic))
            store.close()
            added = n
            last = -(-(size + n) // 50)
            print(f"topic of {size + n:,} members: page 1 {timed(client, f'/topic/{topic}') * 1000:.0f} ms, "
                  f"page {last} {timed(client, f'/topic/{topic}?page={last}') * 1000:.0f} ms")


if __name__ == "__main__":
    main()
