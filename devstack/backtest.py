"""``make backtest FILE=... [VERSIONS=v1,v2]``: a backtest of a file through the running local stack.

Signs in the demo model-risk user (``modelrisk1``, ``devstack.staff_token``) as ``make register``
does, then drives the staff batch routes as the console would: ``POST /v1/backtests`` (the format
from the file's name, the versions; none = the champion), the file PUT to the answer's presigned
``upload_url``, ``POST /v1/backtests/{id}/start``, and ``GET /v1/backtests/{id}`` until the batch is
done, with a progress bar of the chunks in the terminal. At the end it prints the summary as tables:
each version's outcome mix, approval rate, probabilities and label metrics, the swap set of each
version against the first, and the invalid rows. ``--json`` prints the final answer as JSON instead.

Local-only (devstack/ never ships in the Lambda package: tests/infra/test_infra_package.py). The
progress bar and the tables are ``rich``'s (pinned in requirements-dev.txt; it is a dependency of
schemathesis as well), rather than a printer of our own.

Exit status: 0 when the batch ends COMPLETED, 1 when it ends otherwise (COMPLETED_WITH_ERRORS,
FAILED) or the API refuses a request (its error body is printed), 2 when the stack cannot be reached.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import requests
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from devstack.client import ApiClient
from devstack.cognito import demo_user, find_staff_pool, id_token
from devstack.staff_token import DEFAULT_ENDPOINT, cognito_client

DEFAULT_API = "http://127.0.0.1:8000"
DEFAULT_USER = "modelrisk1"
STAFF_PREFIX = "/v1/backtests"  # the staff routes; clients use /v1/batches with their API key
CLIENT_PREFIX = "/v1/batches"
DONE = frozenset({"COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED"})
POLL_SECONDS = 0.5  # between two progress reads (one GET each)
UPLOAD_TIMEOUT_SECONDS = 600  # a large file over a slow link


class RequestRefused(Exception):
    """The API answered a request with an error: its status and body, for the terminal."""

    def __init__(self, what: str, response: requests.Response) -> None:
        self.status = response.status_code
        try:
            self.body: Any = response.json()
        except ValueError:
            self.body = response.text
        super().__init__(f"{what}: HTTP {self.status} {json.dumps(self.body)}")


def file_format(path: Path) -> str:
    """csv or jsonl from the file's name (``--format`` overrides)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    raise ValueError(f"cannot tell the format of {path.name} from its name: pass --format csv|jsonl")


def version_list(text: str | None) -> list[str] | None:
    """``"v1, v2"`` -> ["v1", "v2"]; empty -> None (the API's default: the champion)."""
    versions = [name.strip() for name in (text or "").split(",") if name.strip()]
    return versions or None


def _answer(what: str, response: requests.Response) -> dict[str, Any]:
    if not response.ok:
        raise RequestRefused(what, response)
    body: dict[str, Any] = response.json()
    return body


def create(
    api: ApiClient, prefix: str, fmt: str, versions: Sequence[str] | None, *, counteroffers: bool = False
) -> dict[str, Any]:
    body: dict[str, Any] = {"format": fmt, "counteroffers": counteroffers}
    if versions:
        body["versions"] = list(versions)
    return _answer("create", api.post(prefix, body))


def upload(created: Mapping[str, Any], path: Path) -> None:
    """The file's bytes PUT to the presigned URL, streamed from disk (never read whole)."""
    with path.open("rb") as stream:
        response = requests.request(
            str(created.get("upload_method", "PUT")),
            str(created["upload_url"]),
            data=stream,
            headers={"Content-Length": str(path.stat().st_size)},
            timeout=UPLOAD_TIMEOUT_SECONDS,
        )
    if not response.ok:
        raise RequestRefused("upload", response)


def start(api: ApiClient, prefix: str, batch_id: str) -> dict[str, Any]:
    return _answer("start", api.post(f"{prefix}/{batch_id}/start"))


def read(api: ApiClient, prefix: str, batch_id: str) -> dict[str, Any]:
    return _answer("progress", api.get(f"{prefix}/{batch_id}"))


def wait_until_done(
    api: ApiClient,
    prefix: str,
    batch_id: str,
    on_progress: Callable[[Mapping[str, Any]], None],
    *,
    deadline_seconds: float = 24 * 3600,
    poll_seconds: float = POLL_SECONDS,
) -> dict[str, Any]:
    """Polls the batch until its status is final; ``on_progress`` sees every answer."""
    give_up = time.monotonic() + deadline_seconds
    while True:
        answer = read(api, prefix, batch_id)
        on_progress(answer)
        if answer.get("status") in DONE:
            return answer
        if time.monotonic() > give_up:
            raise TimeoutError(f"batch {batch_id} still {answer.get('status')} after {deadline_seconds:g} s")
        time.sleep(poll_seconds)


def run_file(
    api: ApiClient,
    prefix: str,
    path: Path,
    fmt: str,
    versions: Sequence[str] | None,
    on_progress: Callable[[Mapping[str, Any]], None] = lambda _answer: None,
    *,
    counteroffers: bool = False,
    poll_seconds: float = POLL_SECONDS,
) -> dict[str, Any]:
    """create -> upload -> start -> wait: the final GET answer (the bench drives batches with it too)."""
    created = create(api, prefix, fmt, versions, counteroffers=counteroffers)
    on_progress(created)
    upload(created, path)
    started = start(api, prefix, str(created["batch_id"]))
    on_progress(started)
    return wait_until_done(api, prefix, str(created["batch_id"]), on_progress, poll_seconds=poll_seconds)


# ------------------------------------------------------------------------------------ the tables
def _number(value: Any, places: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.{places}f}"
    return str(value)


def _percent(value: Any) -> str:
    return "–" if value is None else f"{100 * float(value):.1f}%"


def rows_table(summary: Mapping[str, Any]) -> Table:
    rows = summary.get("rows") or {}
    table = Table(title="Rows")
    names = ("read", "scored", "invalid", "labelled")
    for heading in names:
        table.add_column(heading, justify="right")
    table.add_row(*(_number(rows.get(name)) for name in names))
    return table


def _lowest_ratio(groups: Sequence[Mapping[str, Any]]) -> str:
    """The group with the lowest four-fifths ratio, e.g. ``Female 0.912 (n=2,310)``."""
    if not groups:
        return "–"
    lowest = min(groups, key=lambda group: float(group["ratio"]))
    return f"{lowest['group']} {float(lowest['ratio']):.3f} (n={int(lowest['n']):,})"


def versions_table(summary: Mapping[str, Any]) -> Table:
    """One column per version (the batch's order), one row per figure (engine.batch.VersionSummary)."""
    versions: list[Mapping[str, Any]] = list(summary.get("versions") or [])
    table = Table(title="Per version")
    table.add_column("figure")
    for version in versions:
        table.add_column(str(version["version_id"]), justify="right")

    def add(label: str, cells: Iterable[str]) -> None:
        table.add_row(label, *cells)

    labels = [version.get("labels") or {} for version in versions]
    outcomes = sorted({outcome for version in versions for outcome in version.get("outcomes") or {}})
    for outcome in outcomes:
        add(outcome, (_number((version.get("outcomes") or {}).get(outcome, 0)) for version in versions))
    add("approval rate", (_percent(version.get("approval_rate")) for version in versions))
    add("mean probability", (_number(version.get("mean_probability")) for version in versions))
    add(
        "expected bad rate, approvals",
        (_percent(version.get("expected_bad_rate_of_approvals")) for version in versions),
    )
    for axis in ("gender", "age_band"):
        add(
            f"lowest 4/5 ratio, {axis}", (_lowest_ratio(version["four_fifths"][axis]) for version in versions)
        )
    add(
        "top reason codes",
        (
            ", ".join(f"{r['code']} ({r['count']:,})" for r in version["top_reason_codes"][:3])
            for version in versions
        ),
    )
    if any(labels):
        for metric in ("auc", "ks", "brier"):
            add(metric.upper(), (_number(figures.get(metric)) for figures in labels))
        add(
            "bad rate, labelled approvals",
            (_percent(figures.get("bad_rate_of_approvals")) for figures in labels),
        )
    return table


SWAPS = (
    ("approve_to_decline", "approved -> declined"),
    ("decline_to_approve", "declined -> approved"),
    ("to_review", "-> manual review"),
    ("from_review", "manual review ->"),
    ("unchanged", "unchanged"),
)


def swaps_table(summary: Mapping[str, Any]) -> Table | None:
    """Each version against the first (engine.batch.SwapSet); None with a single version."""
    swaps: list[Mapping[str, Any]] = list(summary.get("swaps") or [])
    if not swaps:
        return None
    table = Table(title=f"Swap set against {swaps[0]['against']}")
    table.add_column("rows")
    for swap in swaps:
        table.add_column(str(swap["version_id"]), justify="right")
    for key, label in SWAPS:
        table.add_row(label, *(_number(swap.get(key)) for swap in swaps))
    return table


def invalid_table(summary: Mapping[str, Any], shown: int = 10) -> Table | None:
    invalid: list[Mapping[str, Any]] = list(summary.get("invalid_rows") or [])
    if not invalid:
        return None
    rest = int(summary.get("rows", {}).get("invalid", len(invalid))) - min(shown, len(invalid))
    table = Table(title="Invalid rows" + (f" (and {rest:,} more)" if rest > 0 else ""))
    table.add_column("line", justify="right")
    table.add_column("problems")
    for row in invalid[:shown]:
        problems = "; ".join(
            f"{problem['field']}: {problem['problem']}" for problem in row.get("errors") or []
        )
        table.add_row(_number(row.get("line")), problems)
    return table


def summary_tables(summary: Mapping[str, Any]) -> list[Table]:
    tables = [rows_table(summary), versions_table(summary), swaps_table(summary), invalid_table(summary)]
    return [table for table in tables if table is not None]


# ------------------------------------------------------------------------------------ the command
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("file", type=Path, help="a CSV with the shipped data's columns, or JSON Lines")
    parser.add_argument("--versions", help="comma-separated decision versions (default: the champion)")
    parser.add_argument("--format", choices=("csv", "jsonl"), help="default: from the file's name")
    parser.add_argument("--counteroffers", action="store_true", help="compute counteroffer amounts too")
    parser.add_argument("--api", default=os.environ.get("API_URL") or DEFAULT_API)
    parser.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL") or DEFAULT_ENDPOINT)
    parser.add_argument("--stage", default="local")
    parser.add_argument("--user", default=DEFAULT_USER, help="a demo staff user of group model_risk")
    parser.add_argument("--json", action="store_true", help="print the final answer as JSON")
    return parser.parse_args(argv)


def staff_api(args: argparse.Namespace) -> ApiClient:
    user = demo_user(args.user)
    if user is None:
        raise LookupError(f"{args.user} is not a demo staff user")
    client = cognito_client(args.endpoint)
    pool = find_staff_pool(args.stage, client)
    if pool is None:
        raise LookupError(f"no staff pool at {args.endpoint}: is `make run` up?")
    token = id_token(client, pool, user.username, user.password)
    return ApiClient(args.api, {"Authorization": token}, timeout=60)


def progress_bar(console: Console) -> tuple[Progress, Callable[[Mapping[str, Any]], None]]:
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[chunks]}"),  # total is None until the scorer has planned the file
        TextColumn("{task.fields[rows]}"),
        TimeElapsedColumn(),
        console=console,
    )
    task = progress.add_task("PENDING", total=None, rows="", chunks="")

    def show(answer: Mapping[str, Any]) -> None:
        chunks = answer.get("chunks") or {}
        total = chunks.get("total") or answer.get("chunks_total")
        rows = answer.get("rows") or {}
        rate = answer.get("rows_per_second")
        eta = answer.get("eta_seconds")
        text = f"{_number(rows.get('scored', 0))} rows scored" if rows else ""
        if rate:
            text += f", {float(rate):,.0f} rows/s"
        if eta is not None and answer.get("status") == "RUNNING":
            text += f", ETA {float(eta):.0f} s"
        settled = (chunks.get("done") or 0) + (chunks.get("failed") or 0)
        progress.update(
            task,
            description=f"{answer.get('batch_id', '')} {answer.get('status', '')}",
            total=total or None,
            completed=settled,
            rows=text,
            chunks=f"{settled:,}/{total:,} chunks" if total else "planning",
        )

    return progress, show


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console(stderr=args.json)
    try:
        fmt = args.format or file_format(args.file)
        if not args.file.is_file():
            console.print(f"no such file: {args.file}")
            return 2
        api = staff_api(args)
    except (ValueError, LookupError) as error:
        console.print(str(error))
        return 2
    except requests.RequestException as error:
        console.print(f"cannot reach the stack ({error}): is `make run` up?")
        return 2
    progress, show = progress_bar(console)
    try:
        with progress:
            final = run_file(
                api,
                STAFF_PREFIX,
                args.file,
                fmt,
                version_list(args.versions),
                show,
                counteroffers=args.counteroffers,
            )
    except RequestRefused as error:
        console.print(str(error))
        return 1
    except requests.RequestException as error:
        console.print(f"cannot reach the stack ({error}): is `make run` up?")
        return 2
    if args.json:
        print(json.dumps(final, indent=2))
    else:
        if final.get("error"):
            console.print(f"[bold]{final['status']}[/bold]: {final['error']}")
        for problem in final.get("errors") or []:
            console.print(f"error: {problem}")
        summary = final.get("summary")
        if summary:
            for table in summary_tables(summary):
                console.print(table)
        results = final.get("results") or {}
        if results.get("summary_url"):
            console.print(f"summary: {results['summary_url']}")
            console.print(f"result parts: {len(results.get('parts') or [])} (gzip JSON Lines, presigned)")
    return 0 if final.get("status") == "COMPLETED" else 1


if __name__ == "__main__":
    sys.exit(main())
