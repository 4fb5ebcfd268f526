"""The review page: a Starlette application over the pipeline's database, rendered on the server with
Jinja2 templates and plain forms (post, then redirect), with a few lines of vendored script for the
keyboard. Nothing is loaded from outside the machine.

Every request opens the database for itself and closes it. A person signs in by name (from the users
file, or the one name the server was started with); each form carries the session's token against
cross-site request forgery, and each decision the topic's version (see ``decide``).
"""

from __future__ import annotations

import csv
import io
import json
import secrets
from pathlib import Path
from urllib.parse import urlencode

from dedup.core.records import CHANNELS
from dedup.io.export import inert
from dedup.review import cohesion, decide
from dedup.review.decide import DecisionError, Reviewer
from dedup.review.show import highlighted, similarity
from dedup.storage import decisions as db
from dedup.storage.store import NotFound, Store, StoreError

HERE = Path(__file__).parent
PAGE = 50
COOKIE = "dedup_review"


def _number(value: object, default: int = 1, low: int = 1, high: int = 10**9) -> int:
    """A page number or count from a form or query: digits only, within bounds, else ``default``."""
    text = str(value or "")
    return min(max(int(text), low), high) if text.isascii() and text.isdigit() else default


def create_app(db_path: str | Path, users: dict[str, Reviewer], hosts: tuple[str, ...] = ("127.0.0.1", "localhost")):
    """The ASGI application for ``db_path``; ``users`` are those who may sign in (name -> Reviewer); requests
    naming another host are refused (a page elsewhere cannot reach this one by re-pointing a name)."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse, RedirectResponse, Response
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    db_path = Path(db_path)
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))
    sessions: dict[str, dict] = {}  # session id -> {"user": Reviewer, "csrf": token}

    def session(request) -> dict | None:
        return sessions.get(request.cookies.get(COOKIE, ""))

    def render(request, name: str, status: int = 200, **values) -> HTMLResponse:
        s = session(request)
        values.setdefault("message", request.query_params.get("msg", ""))
        values.setdefault("error", request.query_params.get("err", ""))
        html = env.get_template(name).render(user=s["user"] if s else None, csrf=s["csrf"] if s else "", **values)
        return HTMLResponse(html, status_code=status)

    def back(url: str, **query) -> RedirectResponse:
        query = {k: v for k, v in query.items() if v}
        return RedirectResponse(url + ("?" + urlencode(query) if query else ""), status_code=303)

    def opened(write: bool = False) -> Store:
        return Store(db_path, readonly=not write)

    async def signed_form(request):
        """The form of a signed-in person whose token matches, else None."""
        s = session(request)
        form = await request.form()
        if s is None or not secrets.compare_digest(str(form.get("csrf", "")), s["csrf"]):
            return None, None, form
        return s, s["user"], form

    async def login(request):
        if request.method == "GET":
            return render(request, "login.html", users=sorted(users))
        form = await request.form()
        name = str(form.get("name", ""))
        if name not in users:
            return render(request, "login.html", status=403, users=sorted(users), error=f"no user {name!r}")
        sid = secrets.token_urlsafe(24)
        sessions[sid] = {"user": users[name], "csrf": secrets.token_urlsafe(24)}
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(COOKIE, sid, httponly=True, samesite="strict")
        return response

    def _refresh_cohesion() -> None:
        """Members' least similarity to their centre for topics changed since it was last computed; skipped
        while a run holds the database (the queue then ranks by what is known)."""
        try:
            store = opened(write=True)
        except StoreError:
            return
        try:
            cohesion.refresh(store)
        except StoreError:
            pass
        finally:
            store.close()

    def queue_filter(params) -> db.QueueFilter:
        def number(key: str) -> int:
            return _number(params.get(key), default=0, low=0)
        status = str(params.get("status", "open") or "open")
        channel = str(params.get("channel", ""))
        return db.QueueFilter(unit=str(params.get("unit", "")), channel=channel if channel in CHANNELS else "",
                              since=str(params.get("since", "")), until=str(params.get("until", "")),
                              min_size=number("min_size"), max_size=number("max_size"),
                              status=status if status in ("open", "review", "confirmed", "rerouted", "all") else "open")

    async def queue(request):
        if session(request) is None:
            return RedirectResponse("/login", status_code=303)
        f = queue_filter(request.query_params)
        page = _number(request.query_params.get("page"), high=10**6)
        _refresh_cohesion()
        store = opened()
        try:
            rows, total = db.queue(store.db, f, (page - 1) * PAGE, PAGE)
            units = db.units(store.db)
        finally:
            store.close()
        query = {k: v for k, v in vars(f).items() if v}
        return render(request, "queue.html", rows=rows, total=total, page=page, pages=max(1, -(-total // PAGE)),
                      f=f, units=units, query=urlencode(query))

    async def topic(request):
        if session(request) is None:
            return RedirectResponse("/login", status_code=303)
        topic_id = request.path_params["topic_id"]
        page = _number(request.query_params.get("page"), high=10**6)
        store = opened()
        try:
            try:
                live, path = store.resolve(topic_id)
            except NotFound:
                return render(request, "missing.html", status=404, topic_id=topic_id)
            if live != topic_id:
                return back(f"/topic/{live}", msg=f"{topic_id} was merged into {live}")
            t = store.topic(topic_id)
            centre = db.centre_tokens(store.db, topic_id)
            members = db.members_page(store.db, topic_id, (page - 1) * PAGE, PAGE)
            for m in members:
                m["html"] = highlighted(m["text"], t["representative_text"] or "")
                m["similarity"] = similarity(m["tokens"], centre)
            history = db.log(store.db, topic_id)
            units = db.units(store.db)
            token = db.token(db.state(store.db, topic_id))
        finally:
            store.close()
        return render(request, "topic.html", t=t, members=members, page=page,
                      pages=max(1, -(-t["size"] // PAGE)), history=history, units=units, token=token)

    async def decision(request):
        s, user, form = await signed_form(request)
        topic_id = request.path_params["topic_id"]
        if s is None:
            return render(request, "refused.html", status=403, reason="the form's token is missing or wrong "
                          "(sign in again; a request from another site is refused)")
        kind = request.path_params["kind"]
        token = str(form.get("token", "")) or None
        store = opened(write=True)
        goto = f"/topic/{topic_id}"
        try:
            if kind == "confirm":
                decide.confirm(store, user, topic_id, token)
                msg = f"confirmed {topic_id}"
            elif kind == "reroute":
                decide.reroute(store, user, topic_id, str(form.get("unit", "")), str(form.get("reason", "")), token)
                msg = f"re-routed {topic_id} to {form.get('unit')}"
            elif kind == "split":
                _, target = decide.split(store, user, topic_id, form.getlist("item"), str(form.get("into", "")),
                                         token)
                msg = f"split {len(form.getlist('item'))} members of {topic_id} into {target}"
            elif kind == "merge":
                into = str(form.get("into", "")).strip()
                decide.merge(store, user, topic_id, into, token)
                msg, goto = f"merged {topic_id} into {into}", f"/topic/{into}"
            else:
                return Response("unknown decision", status_code=404)
        except DecisionError as exc:
            return back(goto, err=str(exc))
        finally:
            store.close()
        return back(goto, msg=msg)

    async def undo(request):
        s, user, form = await signed_form(request)
        if s is None:
            return render(request, "refused.html", status=403, reason="the form's token is missing or wrong")
        decision_id = request.path_params["decision_id"]
        goto = str(form.get("back", "/log"))
        goto = goto if goto.startswith("/") and not goto.startswith("//") else "/log"
        store = opened(write=True)
        try:
            decide.undo(store, user, int(decision_id))
        except DecisionError as exc:
            return back(goto, err=str(exc))
        finally:
            store.close()
        return back(goto, msg=f"undid decision {decision_id}")

    async def bulk(request):
        if request.method == "GET":
            if session(request) is None:
                return RedirectResponse("/login", status_code=303)
            f = queue_filter(request.query_params)
            store = opened()
            try:
                count = len(db.matching(store.db, f))
                units = db.units(store.db)
            finally:
                store.close()
            return render(request, "bulk.html", f=f, count=count, units=units,
                          kind=request.query_params.get("kind", "confirm"))
        s, user, form = await signed_form(request)
        if s is None:
            return render(request, "refused.html", status=403, reason="the form's token is missing or wrong")
        f = queue_filter(form)
        store = opened(write=True)
        try:
            expected = _number(form.get("count"), default=-1, low=0)
            if expected != len(db.matching(store.db, f)):
                return back("/", err="the topics the filter matches changed since the count was shown; try again")
            n = decide.bulk(store, user, str(form.get("kind", "")), f, str(form.get("unit", "")),
                            str(form.get("reason", "")))
        except DecisionError as exc:
            return back("/", err=str(exc))
        finally:
            store.close()
        return back("/", msg=f"{form.get('kind')}: {n} topics")

    async def audit(request):
        if session(request) is None:
            return RedirectResponse("/login", status_code=303)
        store = opened()
        try:
            entries = db.log(store.db)
        finally:
            store.close()
        if request.url.path.endswith(".csv"):
            out = io.StringIO()
            writer = csv.writer(out)
            writer.writerow(["decision_id", "at", "who", "kind", "topic_id", "target", "unit", "reason", "before",
                             "after", "undoes", "undone_by"])
            for e in entries:  # free text (a reason) never runs as a formula in the office's spreadsheet
                writer.writerow(inert([e["decision_id"], e["at"], e["who"], e["kind"], e["topic_id"], e["target"],
                                       e["unit"], e["reason"], json.dumps(e["before"], ensure_ascii=False),
                                       json.dumps(e["after"], ensure_ascii=False), e["undoes"] or "",
                                       e["undone_by"] or ""]))
            return Response("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": "attachment; filename=decisions.csv"})
        return render(request, "log.html", entries=list(reversed(entries)))

    async def store_error(request, exc):
        return render(request, "refused.html", status=503, reason=str(exc))

    routes = [Route("/", queue), Route("/login", login, methods=["GET", "POST"]),
              Route("/topic/{topic_id}", topic),
              Route("/topic/{topic_id}/{kind}", decision, methods=["POST"]),
              Route("/decision/{decision_id:int}/undo", undo, methods=["POST"]),
              Route("/bulk", bulk, methods=["GET", "POST"]), Route("/log", audit), Route("/log.csv", audit),
              Mount("/static", StaticFiles(directory=HERE / "static"), name="static")]
    from starlette.middleware import Middleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware

    return Starlette(routes=routes, exception_handlers={StoreError: store_error},
                     middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=list(hosts))])


def serve(db_path: Path, users: dict[str, Reviewer], host: str = "127.0.0.1", port: int = 8765) -> None:
    import uvicorn

    Store(db_path, readonly=True).close()  # a missing or foreign database is refused before serving
    store = Store(db_path)
    try:  # every topic's least similarity before the first page, so the queue ranks all of them
        cohesion.refresh(store, limit=-1)
    finally:
        store.close()
    hosts = tuple(dict.fromkeys(("127.0.0.1", "localhost", host)))
    uvicorn.run(create_app(db_path, users, hosts), host=host, port=port, log_level="warning")
