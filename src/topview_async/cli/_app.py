"""The command tree. Bodies import what they need, so ``--help`` loads only typer."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from ._options import ResubmitOption, TaskIdOption, check_one_decision
from ._temporal import (
    DEFAULT_ADDRESS,
    DEFAULT_TASK_QUEUE,
    Address,
    Namespace,
    TaskQueue,
    run_temporal_batch_command,
    temporal_app,
)

T = TypeVar("T")

EXIT_OK, EXIT_INCOMPLETE, EXIT_USAGE = 0, 1, 2

app = typer.Typer(
    name="topview",
    help="Topview AI from the shell: durable batch jobs, tasks, uploads, catalogues.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
batch_app = typer.Typer(help="Run many jobs, resumably.", no_args_is_help=True)
tasks_app = typer.Typer(help="Look at one task.", no_args_is_help=True)
app.add_typer(batch_app, name="batch")
app.add_typer(tasks_app, name="tasks")
app.add_typer(temporal_app, name="temporal")

_state = {"debug": False}

CATALOGUES: dict[str, tuple[str, str]] = {
    "voices": ("voices", "list"),
    "ai-avatars": ("ai_avatars", "list"),
    "captions": ("captions", "list"),
    "ethnicities": ("ethnicities", "list"),
    "product-avatars": ("product_avatars", "list_public_avatars"),
    "product-avatar-categories": ("product_avatars", "list_categories"),
    "anyshoot-templates": ("anyshoot", "list_templates"),
    "anyshoot-template-categories": ("anyshoot", "list_template_categories"),
}
"""``topview NAME list``: the catalogue lookups (client attribute, method)."""


@app.callback()
def _options(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the full traceback of an error.")
    ] = False,
) -> None:
    _state["debug"] = debug


def run(argv: list[str] | None = None) -> int:
    """Run the app; map errors to one readable line and an exit status."""
    args = sys.argv[1:] if argv is None else argv
    _state["debug"] = "--debug" in args
    try:
        app(args=args, prog_name="topview")  # usage errors: click prints them, exit 2
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (EXIT_OK if code is None else EXIT_INCOMPLETE)
    except KeyboardInterrupt:
        print("interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    except Exception as exc:
        if _state["debug"]:
            raise
        print(f"error: {_describe(exc)}", file=sys.stderr)
        return EXIT_USAGE if _is_usage_error(exc) else EXIT_INCOMPLETE
    return EXIT_OK


def _describe(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _is_usage_error(exc: BaseException) -> bool:
    from .._exceptions import (
        BatchLockedError,
        ConfigurationError,
        InvalidInputError,
        JournalUnusableError,
    )

    usage = ConfigurationError | InvalidInputError | FileNotFoundError
    return isinstance(exc, usage | JournalUnusableError | BatchLockedError)


def _run_async(function: Callable[[], Awaitable[T]]) -> T:
    import anyio

    return anyio.run(function)


def _client(**options: Any) -> Any:
    from .. import AsyncTopview

    return AsyncTopview(**options)


# -- batch ------------------------------------------------------------------------------------


@batch_app.command("run")
def batch_run(
    jobs_file: Annotated[Path, typer.Argument(help="JSON Lines: {key, kind, params} a line.")],
    out: Annotated[
        Path, typer.Option("--out", help="Output directory (files, manifest, journal).")
    ],
    concurrency: Annotated[int, typer.Option(min=1, help="Submits in flight at once.")] = 8,
    downloads: Annotated[int, typer.Option(min=1, help="Downloads at once.")] = 4,
    max_credits: Annotated[
        float | None,
        typer.Option(
            min=0,
            help="Submit only while spent + the most the jobs in flight can cost + the "
            "next job's most fit this many credits.",
        ),
    ] = None,
    max_cost_per_job: Annotated[
        float | None,
        typer.Option(
            min=0,
            help="With --max-credits: the most one job can cost, for kinds without a "
            "documented price or a cost seen before.",
        ),
    ] = None,
    notice_url: Annotated[
        str | None,
        typer.Option(help="Callback URL; each submit gets it with ?job=KEY&attempt=N added."),
    ] = None,
    reconcile_grace: Annotated[
        float,
        typer.Option(
            help="Seconds after which a lost M2V submit not in the task list is sent again."
        ),
    ] = 300.0,
    poll_interval: Annotated[
        float | None, typer.Option(min=0.001, help="Fixed seconds between task queries.")
    ] = None,
    progress: Annotated[bool, typer.Option(help="Live progress bars.")] = True,
    engine: Annotated[
        str,
        typer.Option(
            help="local: this process, journaled in OUT; temporal: one Temporal workflow per "
            "job, run by `topview temporal worker` processes (OUT must be their path)."
        ),
    ] = "local",
    temporal_address: Address = DEFAULT_ADDRESS,
    temporal_namespace: Namespace = "default",
    temporal_task_queue: TaskQueue = DEFAULT_TASK_QUEUE,
    heartbeat_timeout: Annotated[
        float, typer.Option(min=0.1, help="Temporal: seconds before a silent worker's step moves.")
    ] = 30.0,
) -> None:
    """Run every job of JOBS_FILE to its files in OUT; the same command again resumes."""
    if engine not in ("local", "temporal"):
        raise typer.BadParameter("--engine is local or temporal")
    if engine == "temporal":
        if notice_url is not None:
            raise typer.BadParameter(
                "with --engine temporal, the workers hold the notice URL "
                "(topview temporal worker --notice-url)"
            )
        run_temporal_batch_command(
            jobs_file,
            out,
            address=temporal_address,
            namespace=temporal_namespace,
            task_queue=temporal_task_queue,
            heartbeat_timeout=heartbeat_timeout,
            reconcile_grace=reconcile_grace,
            poll_interval=poll_interval,
            progress=progress,
            max_credits=max_credits,
            max_cost_per_job=max_cost_per_job,
        )
    from ._batch import run_batch

    code = _run_async(
        lambda: run_batch(
            jobs_file,
            out,
            concurrency=concurrency,
            downloads=downloads,
            max_credits=max_credits,
            max_cost_per_job=max_cost_per_job,
            notice_url=notice_url,
            reconcile_grace=reconcile_grace,
            poll_interval=poll_interval,
            progress=progress,
        )
    )
    raise typer.Exit(code)


@batch_app.command("status")
def batch_status(
    out: Annotated[Path, typer.Argument(help="The batch's output directory.")],
) -> None:
    """A table of every job in OUT's journal."""
    from ._batch import show_status

    raise typer.Exit(_run_async(lambda: show_status(out)))


@batch_app.command("resolve")
def batch_resolve(
    out: Annotated[Path, typer.Argument(help="The batch's output directory.")],
    key: Annotated[str, typer.Argument(help="The job's key.")],
    task_id: TaskIdOption = None,
    resubmit: ResubmitOption = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Resubmit even while the job's task runs or is done."),
    ] = False,
) -> None:
    """Settle an outcome_unknown job: attach its task id, or allow a new submit (checked
    first: the task exists, is of the job's kind and request, and is no other job's)."""
    check_one_decision(task_id, resubmit)
    from ._batch import resolve

    _run_async(lambda: resolve(out, key, task_id=task_id, resubmit=resubmit, force=force))


@batch_app.command("retry")
def batch_retry(
    out: Annotated[Path, typer.Argument(help="The batch's output directory.")],
    keys: Annotated[
        list[str] | None,
        typer.Argument(help="Jobs to retry (default: every job whose task failed)."),
    ] = None,
) -> None:
    """Submit jobs whose task failed at Topview again on the next run: each a new paid task.
    (Jobs that failed before any task existed are retried by every run, for free.)"""
    from ._batch import retry

    raise typer.Exit(_run_async(lambda: retry(out, keys or [])))


@batch_app.command("rebuild")
def batch_rebuild(
    out: Annotated[Path, typer.Argument(help="The batch's output directory.")],
    jobs_file: Annotated[
        Path | None,
        typer.Option("--jobs", help="The jobs file, for a manifest that carries no params."),
    ] = None,
) -> None:
    """Rebuild a lost, emptied or unreadable journal from OUT's manifest (jobs that had a
    task keep it; the old journal file is moved aside)."""
    from ._batch import rebuild

    raise typer.Exit(_run_async(lambda: rebuild(out, jobs_file)))


# -- everyday commands ---------------------------------------------------------------------


@tasks_app.command("get")
def tasks_get(
    kind: Annotated[str, typer.Argument(help="Task kind: m2v, video_avatar, image_to_video...")],
    task_id: Annotated[str, typer.Argument(help="The task id.")],
    wait: Annotated[bool, typer.Option("--wait", help="Wait until the task finishes.")] = False,
    download: Annotated[
        Path | None, typer.Option(help="Save the result files into this directory.")
    ] = None,
) -> None:
    """Show a task (and optionally wait for it and download its files)."""
    from ._everyday import get_task

    raise typer.Exit(_run_async(lambda: get_task(kind, task_id, wait=wait, download=download)))


@app.command("upload")
def upload(files: Annotated[list[Path], typer.Argument(help="Local files to upload.")]) -> None:
    """Upload files; prints one file id per line."""
    from ._everyday import upload_files

    _run_async(lambda: upload_files(files))


@app.command("credit")
def credit() -> None:
    """Show the account's credit balance."""
    from ._everyday import show_credit

    _run_async(show_credit)


def _catalogue_command(name: str, attribute: str, method: str) -> None:
    sub = typer.Typer(help=f"The {name} catalogue.", no_args_is_help=True)

    @sub.command("list")
    def list_items(
        page_size: Annotated[int, typer.Option(min=1, help="Items per page.")] = 20,
        page: Annotated[int, typer.Option(min=1, help="Page number.")] = 1,
        as_json: Annotated[bool, typer.Option("--json", help="JSON lines output.")] = False,
    ) -> None:
        from ._everyday import list_catalogue

        _run_async(lambda: list_catalogue(attribute, method, page, page_size, as_json))

    list_items.__doc__ = f"List {name}."
    app.add_typer(sub, name=name)


for _name, (_attribute, _method) in CATALOGUES.items():
    _catalogue_command(_name, _attribute, _method)


@app.command(
    "simulator",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def simulator(
    port: Annotated[int, typer.Option(help="Port to listen on (127.0.0.1).")] = 8000,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    seed: Annotated[int, typer.Option(help="Seed of every random choice.")] = 0,
    time_scale: Annotated[float, typer.Option(help="Run tasks this many times faster.")] = 1.0,
    media_size: Annotated[int | None, typer.Option(help="Bytes per media file.")] = None,
    max_unfinished_tasks: Annotated[
        int | None, typer.Option(help="Answer 4007 beyond this many unfinished tasks.")
    ] = None,
    credits: Annotated[float | None, typer.Option(help="The account's credit balance.")] = None,
    fault: Annotated[
        list[str] | None,
        typer.Option(
            help="A fault, as comma-separated Fault fields: "
            "'path=/v1/m2v/task/submit,business_code=5003,rate=0.1'. Repeatable."
        ),
    ] = None,
) -> None:
    """Run the built-in Topview simulator (prints its URL and test credentials)."""
    from ._simulator import serve

    serve(
        host=host,
        port=port,
        seed=seed,
        time_scale=time_scale,
        media_size=media_size,
        max_unfinished_tasks=max_unfinished_tasks,
        credits=credits,
        faults=fault or [],
    )
