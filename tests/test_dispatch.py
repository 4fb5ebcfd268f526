"""Work orders: working-day deadlines on the official calendar, dispatch, states and flags."""

import csv
import datetime as dt
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import sample_parts, write_csv

from dedup.batch.pipeline import run
from dedup.cli import main
from dedup.config import DispatchConfig, load_config
from dedup.dispatch import orders, states
from dedup.dispatch.states import TransitionError
from dedup.dispatch.workdays import Calendar, CalendarError, read_overrides
from dedup.review import decide
from dedup.review.decide import Reviewer
from dedup.storage import orders as db
from dedup.storage.store import Store

ROOT = Path(__file__).resolve().parents[1]
RULES = DispatchConfig()
TODAY = dt.date.today()


@pytest.mark.parametrize("start, n, due", [
    ("2019-09-27", 5, "2019-10-10"),   # National Day week skipped, Sunday 09-29 a make-up working day
    ("2019-10-11", 1, "2019-10-12"),   # Saturday 10-12 a make-up working day
    ("2020-01-23", 1, "2020-02-03"),   # the Spring Festival holiday, extended to 02-02
    ("2024-02-09", 1, "2024-02-18"),   # Spring Festival 02-10..17, Sunday 02-18 a make-up working day
    ("2025-09-26", 1, "2025-09-28"),   # Sunday 09-28 a make-up working day before National Day
    ("2025-09-30", 1, "2025-10-09"),   # National Day and Mid-Autumn 10-01..08
    ("2026-02-13", 1, "2026-02-14"),   # Saturday 02-14 a make-up working day
    ("2026-02-14", 1, "2026-02-24"),   # Spring Festival 02-15..23
    ("2019-03-05", 0, "2019-03-05"),
])
def test_deadlines_on_the_official_calendar(start, n, due):
    assert Calendar().add(dt.date.fromisoformat(start), n) == (dt.date.fromisoformat(due), False)


def test_an_uncovered_year_counts_weekdays_and_says_so_until_its_days_are_added(tmp_path):
    calendar = Calendar()
    assert calendar.add(dt.date(2026, 12, 30), 3) == (dt.date(2027, 1, 4), True)
    assert "2027" in calendar.warning() and "provisional" in calendar.warning()
    path = tmp_path / "calendar.csv"
    path.write_text("day,workday,note\n2027-01-01,0,元旦\n2027-01-02,0,\n2027-01-03,0,\n2027-01-04,1,\n", encoding="utf-8")
    official = Calendar(read_overrides(path))
    assert official.add(dt.date(2026, 12, 31), 1) == (dt.date(2027, 1, 4), False)
    path.write_text("day,workday\n2027-01-01,maybe\n", encoding="utf-8")
    with pytest.raises(CalendarError, match="row 2"):
        read_overrides(path)


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("dispatch")
    first, _ = sample_parts(folder, (900,))
    run([first], folder / "d.sqlite", None, load_config(ROOT / "sample_data" / "dedup.toml"))
    return folder / "d.sqlite"


@pytest.fixture
def store(base, tmp_path):
    path = tmp_path / "d.sqlite"
    shutil.copy(base, path)
    if Path(str(base) + ".index").exists():
        shutil.copytree(Path(str(base) + ".index"), Path(str(path) + ".index"))
    s = Store(path)
    yield s
    s.close()


def _live_topics(store: Store) -> int:
    return store.db.execute("SELECT COUNT(*) FROM topics WHERE merged_into IS NULL AND size > 0").fetchone()[0]


def test_one_order_per_routed_topic_and_a_grown_topic_raises_its_order(store, tmp_path):
    first = orders.dispatch(store, TODAY, Calendar(), RULES, review_below=0.6)
    assert len(first.new) + len(first.waiting) == _live_topics(store) and not first.grown
    assert orders.dispatch(store, TODAY, Calendar(), RULES, review_below=0.6).new == []  # no second order
    order = first.new[0]
    raw = store.db.execute("SELECT i.content FROM items i JOIN nodes n ON n.node_id = i.node_id WHERE n.topic_id = ?"
                           " LIMIT 1", (order["topic_id"],)).fetchone()[0]
    night = write_csv(tmp_path / "night.csv", [["G1", "2019-05-01 09:00:00", "phone", raw]],
                      ["id", "received_at", "channel", "content"])
    run([night], store.path, None, load_config(ROOT / "sample_data" / "dedup.toml"))
    again = orders.dispatch(store, TODAY, Calendar(), RULES, review_below=0.6)
    assert [o["order_id"] for o in again.grown] == [order["order_id"]] and again.new == []
    assert db.order(store.db, order["order_id"])["items"] == order["items"] + 1


def test_doubtful_topics_wait_for_a_reviewer(store):
    low = store.db.execute("SELECT topic_id FROM topics ORDER BY topic_id LIMIT 2").fetchall()
    store.db.executemany("UPDATE topics SET department_score = 0.3, needs_review = 1 WHERE topic_id = ?", low)
    result = orders.dispatch(store, TODAY, Calendar(), RULES, review_below=0.6)
    assert {t["topic_id"] for t in result.waiting} == {low[0][0], low[1][0]}
    decide.confirm(store, Reviewer("王芳"), low[0][0])
    later = orders.dispatch(store, TODAY, Calendar(), RULES, review_below=0.6)
    assert [o["topic_id"] for o in later.new] == [low[0][0]]
    assert [o["topic_id"] for o in orders.dispatch(store, TODAY, Calendar(), RULES, 0.6, True).new] == [low[1][0]]


def test_an_order_through_its_states(store):
    day = dt.date(2019, 3, 4)
    store.db.execute("UPDATE runs SET started_at = '2019-03-04T20:00:00'")
    made = orders.dispatch(store, day, Calendar(), RULES, review_below=0.0)
    order_id = made.new[0]["order_id"]
    assert made.new[0]["deadline"] == "2019-03-11"
    for action in ("receive", "start"):
        orders.act(store, order_id, action, "市城管局", Calendar(), RULES, today=day)
    orders.act(store, order_id, "extend", "市城管局", Calendar(), RULES, reason="需协调多部门", today=day)
    approved = orders.act(store, order_id, "approve", "王芳", Calendar(), RULES, today=day)
    assert approved["deadline"] == "2019-03-25" and approved["state"] == states.HANDLING  # + 10 working days
    for action in ("complete", "visit", "archive"):
        orders.act(store, order_id, action, "王芳", Calendar(), RULES, today=day)
    log = db.events(store.db, order_id)
    assert [e["to_state"] for e in log] == [states.PENDING, states.RECEIVED, states.HANDLING, states.EXTENSION,
                                            states.HANDLING, states.COMPLETED, states.VISITED, states.ARCHIVED]
    assert log[3]["reason"] == "需协调多部门" and log[4]["who"] == "王芳"
    with pytest.raises(TransitionError, match="closed"):
        orders.act(store, order_id, "start", "王芳", Calendar(), RULES, today=day)


def test_returns_only_within_two_working_days_then_reassigned(store):
    day = dt.date(2019, 9, 27)
    store.db.execute("UPDATE runs SET started_at = '2019-09-27T20:00:00'")
    made = orders.dispatch(store, day, Calendar(), RULES, review_below=0.0)
    late, early = made.new[0]["order_id"], made.new[1]["order_id"]
    with pytest.raises(TransitionError, match="reason"):
        orders.act(store, early, "return", "市水利局", Calendar(), RULES, today=day)
    # 09-29 (a make-up Sunday) and 09-30 are working days; 10-08 is the third
    with pytest.raises(TransitionError, match="within 2"):
        orders.act(store, late, "return", "市水利局", Calendar(), RULES, reason="不属于本单位", today=dt.date(2019, 10, 8))
    orders.act(store, early, "return", "市水利局", Calendar(), RULES, reason="不属于本单位", today=dt.date(2019, 9, 30))
    moved = orders.act(store, early, "reassign", "王芳", Calendar(), RULES, unit="市城管局", today=dt.date(2019, 9, 30))
    new = db.order(store.db, moved["new_order"])
    assert (new["unit"], new["state"], new["replaces"], new["deadline"]) == ("市城管局", states.PENDING, early,
                                                                             "2019-10-12")
    with pytest.raises(TransitionError, match="cannot be"):
        orders.act(store, early, "complete", "王芳", Calendar(), RULES)


def test_yellow_a_day_before_and_red_after_the_deadline(store):
    day = dt.date(2019, 3, 4)
    store.db.execute("UPDATE runs SET started_at = '2019-03-04T20:00:00'")
    orders.dispatch(store, day, Calendar(), RULES, review_below=0.0)
    assert {f["flag"] for f in orders.flags(store, dt.date(2019, 3, 8), Calendar())} == {"yellow"}
    red = orders.flags(store, dt.date(2019, 3, 13), Calendar())
    assert {f["flag"] for f in red} == {"red"} and red[0]["overdue_working_days"] == 2
    assert orders.flags(store, dt.date(2019, 3, 5), Calendar()) == []


def test_dispatch_and_order_commands(store, tmp_path):
    store.db.execute("UPDATE runs SET started_at = '2019-03-04T20:00:00'")
    store.close()
    runner = CliRunner()
    out = tmp_path / "sheets"
    result = runner.invoke(main, ["dispatch", "--db", str(store.path), "--date", "2019-03-04", "--out", str(out),
                                  "--all"])
    assert result.exit_code == 0, result.output
    summary = list(csv.DictReader((out / "2019-03-04_summary.csv").open(encoding="utf-8-sig")))
    sheets = sorted(out.glob("2019-03-04_*.xlsx"))
    assert len(sheets) == len(summary) + 1 and sum(int(r["new_orders"]) for r in summary) > 0
    rows = [r for path in out.glob("2019-03-04_*.csv") if "summary" not in path.name
            for r in csv.DictReader(path.open(encoding="utf-8-sig"))]
    assert all(not re.search(r"1[3-9]\d{9}", r["representative_text"]) for r in rows)  # phone numbers masked
    order_id = rows[0]["order_id"]
    bad = runner.invoke(main, ["order", order_id, "archive", "--who", "王芳", "--db", str(store.path)])
    assert bad.exit_code == 2 and "cannot be" in bad.output and "Traceback" not in bad.output
    ok = runner.invoke(main, ["order", order_id, "receive", "--who", "市城管局", "--db", str(store.path)])
    assert ok.exit_code == 0 and states.RECEIVED in ok.output
    flagged = runner.invoke(main, ["dispatch", "--db", str(store.path), "--date", "2019-03-20", "--overdue"])
    assert flagged.exit_code == 0 and "red" in flagged.output


def _replies(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["工单编号", "办理结果", "答复内容", "办结时间", "审核领导", "满意度"])
        writer.writerows(rows)
    return path


def test_replies_complete_orders_and_bad_rows_are_listed(store, tmp_path):
    from dedup.dispatch.feedback import import_replies

    day = dt.date(2019, 3, 4)
    store.db.execute("UPDATE runs SET started_at = '2019-03-04T20:00:00'")
    made = [o["order_id"] for o in orders.dispatch(store, day, Calendar(), RULES, review_below=0.0).new]
    path = _replies(tmp_path / "replies.csv", [
        [made[0], "已解决", "已修复。", "2019-03-06 10:00", "李局长", "满意"],
        [made[1], "explained", "已解释。", "2019-03-07", "王主任", ""],
        [made[2], "maybe", "x", "2019-03-07", "王主任", ""],
        [made[3], "solved", "x", "2019-03-01", "王主任", ""],
        ["GD0", "solved", "x", "2019-03-07", "王主任", ""],
        [made[1], "solved", "again", "2019-03-07", "王主任", ""],
        [made[4], "solved", "x", "2019-03-07", "王主任", "还行"]])
    result = import_replies(store, path)
    assert (result.replies, result.visits) == (2, 1)
    assert [(line, reason.split(" ")[0]) for _, line, _, reason in result.rejected] == [
        (4, "result"), (5, "completed"), (6, "no"), (7, "the"), (8, "satisfaction")]
    assert db.order(store.db, made[0])["state"] == states.VISITED
    assert db.order(store.db, made[1])["state"] == states.COMPLETED
    assert db.order(store.db, made[2])["state"] == states.PENDING
    again = import_replies(store, path)  # everything already answered: nothing more
    assert again.replies == 0 and "a reply completes an order still open" in again.rejected[0][3]


def test_a_replies_file_without_its_columns_imports_nothing(store, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("工单编号,答复内容\nGD1,x\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["feedback", str(path), "--db", str(store.path)])
    assert result.exit_code == 3 and "row 1: missing column(s) result" in result.output


def test_bulletin_rates_and_a_publication_without_personal_data(store, tmp_path):
    from dedup.dispatch.feedback import import_replies
    from dedup.dispatch.report import Period, bulletin

    day = dt.date(2019, 3, 4)
    store.db.execute("UPDATE runs SET started_at = '2019-03-04T20:00:00'")
    made = [o["order_id"] for o in orders.dispatch(store, day, Calendar(), RULES, review_below=0.0).new]
    personal = ["13812345678", "zhang.wei@example.com", "370102199003071234", "张伟"]
    _replies(tmp_path / "r.csv", [
        [made[0], "solved", f"已派人维修，联系人张伟，电话{personal[0]}，邮箱{personal[1]}。", "2019-03-08", "李局长", "满意"],
        [made[1], "solved", f"身份证号{personal[2]}的申请已办结。", "2019-03-14", "李局长", "不满意"],
        [made[2], "explained", "已解释。", "2019-03-11", "王主任", ""]])
    import_replies(store, tmp_path / "r.csv")
    number, files, overall = bulletin(store, Period(day, dt.date(2019, 3, 31)), tmp_path / "report")
    assert number == 1 and overall["orders"] == len(made)
    assert overall["completed"] == 3 and overall["completion_rate"] == round(3 / len(made), 4)
    assert overall["fell_due"] == len(made) and overall["on_time"] == 2  # due 03-11; 03-14 was late
    assert overall["satisfaction_rate"] == 0.5
    published = next(f for f in files if f.name.endswith("publication.csv")).read_text(encoding="utf-8-sig")
    assert not any(p in published for p in personal) and "〔电话〕" in published
    html = next(f for f in files if f.suffix == ".html").read_text(encoding="utf-8")
    assert "第1期" in html and "按时办结率" in html and "charset='utf-8'" in html
    assert bulletin(store, Period(day, dt.date(2019, 3, 31)), tmp_path / "report")[0] == 2  # numbered in turn


def test_what_counts_as_satisfied_is_configured():
    from dedup.config import ConfigError
    from dedup.dispatch.report import rates

    rows = [{"unit": "u", "state": states.VISITED, "returned": 0, "extended": 0, "deadline": "2019-03-11",
             "completed_at": "2019-03-08 10:00:00", "satisfaction": s} for s in ("满意", "基本满意", "不满意")]
    assert rates(rows, dt.date(2019, 3, 31))["u"]["satisfaction_rate"] == round(2 / 3, 4)
    strict = load_config(None, {"dispatch.satisfied": "非常满意,满意"}).dispatch.satisfied
    assert rates(rows, dt.date(2019, 3, 31), strict)["u"]["satisfaction_rate"] == round(1 / 3, 4)
    with pytest.raises(ConfigError, match="dispatch.satisfied"):
        load_config(None, {"dispatch.satisfied": "还行"})


def test_replies_from_a_workbook_and_a_run_in_progress(store, tmp_path):
    from openpyxl import Workbook

    from dedup.dispatch.feedback import import_replies
    from dedup.storage.guard import StoreError, run_lock

    day = dt.date(2019, 3, 4)
    store.db.execute("UPDATE runs SET started_at = '2019-03-04T20:00:00'")
    made = [o["order_id"] for o in orders.dispatch(store, day, Calendar(), RULES, review_below=0.0).new]
    book = Workbook()
    sheet = book.active
    sheet.append(["工单编号", "办理结果", "答复内容", "办结时间", "审核领导"])
    sheet.append([made[0], "已解释", "已电话解释。", dt.datetime(2019, 3, 6, 9, 30), "王主任"])
    book.save(tmp_path / "replies.xlsx")
    with run_lock(store.path):  # a night is running: nothing is imported, and it says why
        with pytest.raises(StoreError, match="another dedup run"):
            import_replies(store, tmp_path / "replies.xlsx")
    assert db.order(store.db, made[0])["state"] == states.PENDING
    result = import_replies(store, tmp_path / "replies.xlsx")
    assert result.replies == 1 and db.order(store.db, made[0])["state"] == states.COMPLETED


def test_a_second_dispatch_the_same_day_lists_the_days_orders_and_moves_count(store, tmp_path):
    from dedup.dispatch.report import Period, bulletin

    day = dt.date(2019, 3, 4)
    store.db.execute("UPDATE runs SET started_at = '2019-03-04T20:00:00'")
    first = orders.dispatch(store, day, Calendar(), RULES, review_below=0.0)
    again = orders.dispatch(store, day, Calendar(), RULES, review_below=0.0)
    assert again.new == [] and len(again.day_orders) == len(first.new)
    orders.write_sheets(again, tmp_path / "sheets", RULES)
    summary = list(csv.DictReader((tmp_path / "sheets" / "2019-03-04_summary.csv").open(encoding="utf-8-sig")))
    assert sum(int(r["earlier_orders"]) for r in summary) == len(first.new)
    # an order completed by its unit's move (no reply imported) counts as completed when it was moved
    order_id = first.new[0]["order_id"]
    for action in ("receive", "complete"):
        orders.act(store, order_id, action, "市城管局", Calendar(), RULES, today=dt.date(2019, 3, 5))
    _, _, overall = bulletin(store, Period(day, dt.date(2019, 3, 31)), tmp_path / "report")
    assert overall["completed"] == 1 and overall["on_time"] == 1
