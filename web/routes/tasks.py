"""My tasks: the open deadlines the signed-in user must act on, overdue first."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from web import deps, words
from web.routes import cdop

router = APIRouter()
GROUPS = (("overdue", "Overdue"), ("week", "Due this week"), ("later", "Due later"))


@router.get("/")
def my_tasks(request: Request, changed: int = 0) -> Response:
    # A plain function, so it runs in the thread pool (its audit record may wait for a
    # lock); the session is checked here rather than by a dependency: one hop, not two.
    ctx = deps.user(request)
    now = ctx.app.clock.now()
    calendar = ctx.app.engine.calendar
    groups: dict[str, list[dict[str, object]]] = {key: [] for key, _ in GROUPS}
    tasks = ctx.app.casework.tasks(ctx.login)
    for task in tasks:
        # A child death's step is met on its CDOP form, which keeps the CDOP's records.
        link = cdop.step_links(task.ref).get(task.meets or "", ("", ""))[0] \
            if task.workflow == cdop.WORKFLOW else ""
        groups[words.bucket(task.due_at, task.due_day, now)].append({
            "task": task, "due": words.due_text(task.due_at, task.due_day, now, calendar),
            "link": link})
    return deps.render(ctx, "tasks.html", title="My tasks", groups=groups, labels=GROUPS,
                       task_count=len(tasks),
                       banner="Your password has been changed." if changed else None)
