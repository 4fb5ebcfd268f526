"""The review page: over HTTP with Starlette's test client, and in a real browser (Debian's Chromium driven
by Playwright) for the staff's scenarios. Every request the browser makes must go to 127.0.0.1."""

import csv
import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
from conftest import sample_parts, write_csv

from dedup.batch.pipeline import run
from dedup.config import load_config
from dedup.review.app import create_app
from dedup.review.decide import Reviewer
from dedup.storage import decisions as db
from dedup.storage.store import Store

ROOT = Path(__file__).resolve().parents[1]
USERS = {"王芳": Reviewer("王芳"), "李强": Reviewer("李强"), "赵敏": Reviewer("赵敏", "viewer")}


def _config():
    return load_config(ROOT / "sample_data" / "dedup.toml")


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("page")
    first, _ = sample_parts(folder, (1500,))
    run([first], folder / "d.sqlite", None, _config())
    return folder / "d.sqlite"


@pytest.fixture
def database(base, tmp_path) -> Path:
    path = tmp_path / "d.sqlite"
    shutil.copy(base, path)
    index = Path(str(base) + ".index")
    if index.exists():
        shutil.copytree(index, Path(str(path) + ".index"))
    return path


def _largest(path: Path, n: int = 1) -> list[str]:
    store = Store(path, readonly=True)
    try:
        return [r[0] for r in store.db.execute("SELECT topic_id FROM topics WHERE merged_into IS NULL"
                                               " ORDER BY size DESC, topic_id LIMIT ?", (n,))]
    finally:
        store.close()


def _decisions(path: Path) -> int:
    store = Store(path, readonly=True)
    try:
        return len(db.log(store.db))
    finally:
        store.close()


# ---- over HTTP -------------------------------------------------------------------------------------------

@pytest.fixture
def client(database):
    from starlette.testclient import TestClient

    return TestClient(create_app(database, USERS), base_url="http://127.0.0.1")


def _csrf(html: str) -> str:
    marker = 'name="csrf" value="'
    return html.split(marker, 1)[1].split('"', 1)[0]



def test_the_page_needs_a_signed_in_user(client):
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    assert client.post("/login", data={"name": "nobody"}).status_code == 403


def test_the_queue_is_utf8_and_paged_by_50(client, database):
    client.post("/login", data={"name": "王芳"})
    page = client.get("/?status=all")
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.text.count('<tr data-href="/topic/') == 50
    assert "审核队列" in page.text and "Noto Sans CJK SC" in client.get("/static/review.css").text


def test_a_form_without_the_session_token_is_refused(client, database):
    topic = _largest(database)[0]
    client.post("/login", data={"name": "王芳"})
    response = client.post(f"/topic/{topic}/confirm", data={"csrf": "forged"})
    assert response.status_code == 403 and _decisions(database) == 0


def test_a_viewer_cannot_decide(client, database):
    topic = _largest(database)[0]
    client.post("/login", data={"name": "赵敏"})
    html = client.get(f"/topic/{topic}").text
    assert "confirm-form" not in html
    response = client.post(f"/topic/{topic}/confirm", data={"csrf": _csrf(html), "token": ""})
    assert "viewer" in response.text and _decisions(database) == 0


def test_a_topic_of_thousands_of_members_opens_a_page_at_a_time(client, database):
    topic = _largest(database)[0]
    store = Store(database)
    node = store.db.execute("SELECT node_id FROM nodes WHERE topic_id = ? AND is_centre = 1", (topic,)).fetchone()[0]
    with store.transaction() as con:
        con.executemany("INSERT INTO items VALUES (?, '2019-03-09 10:00:00', 'phone', 'x', '', 'bulk', 1, 1, ?)",
                        [(f"BULK{k:05d}", node) for k in range(5000)])
        con.execute("UPDATE topics SET size = size + 5000 WHERE topic_id = ?", (topic,))
    store.close()
    client.post("/login", data={"name": "王芳"})
    html = client.get(f"/topic/{topic}?page=3").text
    assert html.count('name="item"') == 50 and "第 3 / " in html


# ---- in a browser ----------------------------------------------------------------------------------------

CHROMIUM = os.environ.get("DEDUP_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(database):
    import uvicorn

    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(database, USERS), host="127.0.0.1", port=port,
                                        log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(200):
        if srv.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(5)


@pytest.fixture
def browser():
    if CHROMIUM is None:
        pytest.skip("no Chromium on this machine (Debian: apt-get install chromium fonts-noto-cjk); "
                    "the browser scenarios did not run")
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


@pytest.fixture
def requests_seen():
    return []


def _signed_in(browser, server, name: str, seen: list):
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.on("request", lambda request: seen.append(request.url))
    page.goto(server + "/login")
    page.select_option("select[name=name]", name)
    page.click("button[type=submit]")
    return page


def _only_local(seen: list[str]) -> None:
    assert seen and all(url.startswith("http://127.0.0.1:") for url in seen), [
        u for u in seen if not u.startswith("http://127.0.0.1:")]


def test_browser_split_two_members_and_they_stay_out_the_next_night(browser, server, database, tmp_path,
                                                                    requests_seen):
    topic = _largest(database)[0]
    page = _signed_in(browser, server, "王芳", requests_seen)
    page.goto(f"{server}/topic/{topic}")
    boxes = page.locator("input[name=item]")
    picked = [boxes.nth(k).get_attribute("value") for k in (1, 2)]
    for k in (1, 2):
        boxes.nth(k).check()
    page.click("#split-button")
    assert "split 2 members" in page.locator(".message").inner_text()
    store = Store(database, readonly=True)
    target = db.log(store.db)[-1]["target"]
    raw = {i: store.db.execute("SELECT content FROM items WHERE id = ?", (i,)).fetchone()[0] for i in picked}
    store.close()
    night = write_csv(tmp_path / "night.csv", [[f"N{k}", "2019-05-01 09:00:00", "app", raw[i]]
                                               for k, i in enumerate(picked)],
                      ["id", "received_at", "channel", "content"])
    run([night], database, None, _config())
    page.goto(f"{server}/topic/{target}")
    text = page.locator("#members").inner_text()
    assert "N0" in text and "N1" in text
    page.goto(f"{server}/topic/{topic}")
    assert "N0" not in page.locator("#members").inner_text()
    _only_local(requests_seen)


def test_browser_merge_redirects_and_undo(browser, server, database, requests_seen):
    a, b = _largest(database, 2)
    page = _signed_in(browser, server, "王芳", requests_seen)
    page.goto(f"{server}/topic/{b}")
    page.fill("#merge-into", a)
    page.click("#merge-form button")
    page.goto(f"{server}/topic/{b}")
    assert page.url.split("?")[0].endswith(f"/topic/{a}") and "merged into" in page.locator(".message").inner_text()
    page.locator("form.undo button").last.click()
    assert "undid decision" in page.locator(".message").inner_text()
    page.goto(f"{server}/topic/{b}")
    assert page.url.split("?")[0].endswith(f"/topic/{b}")
    _only_local(requests_seen)


def test_browser_reroute_shows_in_the_next_nights_topics(browser, server, database, tmp_path, requests_seen):
    topic = _largest(database)[0]
    page = _signed_in(browser, server, "王芳", requests_seen)
    page.goto(f"{server}/topic/{topic}")
    page.fill("#reroute-unit", "市住房公积金管理中心")
    page.fill("#reroute-reason", "公积金提取问题")
    page.click("#reroute-form button")
    assert page.locator("#unit").inner_text() == "市住房公积金管理中心"
    store = Store(database, readonly=True)
    raw = store.db.execute("SELECT i.content FROM items i JOIN nodes n ON n.node_id = i.node_id"
                           " WHERE n.topic_id = ? LIMIT 1", (topic,)).fetchone()[0]
    store.close()
    night = write_csv(tmp_path / "night.csv", [["R1", "2019-05-02 09:00:00", "phone", raw]],
                      ["id", "received_at", "channel", "content"])
    run([night], database, tmp_path / "out", _config())
    with (tmp_path / "out" / "topics.csv").open(encoding="utf-8-sig") as fh:
        row = next(r for r in csv.DictReader(fh) if r["topic_id"] == topic)
    assert row["department"] == "市住房公积金管理中心"
    _only_local(requests_seen)


def test_browser_viewer_refused_and_second_editor_told_who_changed_it(browser, server, database, requests_seen):
    topic = _largest(database)[0]
    viewer = _signed_in(browser, server, "赵敏", requests_seen)
    viewer.goto(f"{server}/topic/{topic}")
    assert viewer.locator("#confirm-form").count() == 0
    forged = viewer.request.post(f"{server}/topic/{topic}/confirm", form={"csrf": "x"})
    assert forged.status == 403
    first = _signed_in(browser, server, "王芳", requests_seen)
    second = _signed_in(browser, server, "李强", requests_seen)
    first.goto(f"{server}/topic/{topic}")
    second.goto(f"{server}/topic/{topic}")
    second.click("#confirm-form button")
    first.fill("#reroute-unit", "市城管局")
    first.fill("#reroute-reason", "辖区")
    first.click("#reroute-form button")
    assert "李强" in first.locator(".error").inner_text()
    assert _decisions(database) == 1
    _only_local(requests_seen)


def test_browser_keyboard_opens_a_topic_from_the_queue(browser, server, database, requests_seen):
    page = _signed_in(browser, server, "王芳", requests_seen)
    page.goto(server + "/?status=all")
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_url("**/topic/*")
    page.keyboard.press("?")
    assert page.locator("#help").is_visible()
    _only_local(requests_seen)


def test_a_decision_while_a_run_holds_the_database_is_refused_with_the_reason(client, database):
    from dedup.storage.guard import run_lock

    topic = _largest(database)[0]
    client.post("/login", data={"name": "王芳"})
    html = client.get(f"/topic/{topic}").text
    with run_lock(database):
        response = client.post(f"/topic/{topic}/confirm", data={"csrf": _csrf(html), "token": ""})
    assert response.status_code == 503 and "another dedup run" in response.text
    assert _decisions(database) == 0


def test_odd_query_values_and_another_host_name(client, database):
    client.post("/login", data={"name": "王芳"})
    for url in ("/?page=²", "/?page=99999999999999999999999", "/?channel=[", f"/topic/{_largest(database)[0]}?page=0"):
        assert client.get(url).status_code == 200, url
    assert client.get("/", headers={"host": "rebound.example"}).status_code == 400


def test_the_log_csv_never_runs_a_reason_as_a_formula(client, database):
    topic = _largest(database)[0]
    client.post("/login", data={"name": "王芳"})
    html = client.get(f"/topic/{topic}").text
    client.post(f"/topic/{topic}/reroute", data={"csrf": _csrf(html), "token": "", "unit": "市城管局",
                                                 "reason": '=HYPERLINK("http://x","y")'})
    text = client.get("/log.csv").text
    assert "'=HYPERLINK" in text and '"before"' not in text.split("\n")[0]
