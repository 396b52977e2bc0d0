"""The command tree. Bodies import what they need, so ``--help`` loads only typer."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from ._options import ResubmitOption, TaskIdOption, _UsageProblem, check_one_decision
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
    context_settings={"help_option_names": ["-h", "--help"]},
)
batch_app = typer.Typer(help="Run many jobs, resumably.", no_args_is_help=True)
tasks_app = typer.Typer(help="Look at one task.", no_args_is_help=True)
app.add_typer(batch_app, name="batch")
app.add_typer(tasks_app, name="tasks")
app.add_typer(temporal_app, name="temporal")

_state = {"debug": False, "resumable": False}

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


def _show_version(value: bool) -> None:
    if value:
        from .._version import __version__

        print(f"topview {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    debug: Annotated[
        bool,
        typer.Option("--debug", help="Show the full traceback of an error (anywhere in the line)."),
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    _state["debug"] = _state["debug"] or debug


def _take_debug(args: list[str]) -> tuple[list[str], bool]:
    """``args`` without ``--debug`` (anywhere before a ``--``), and whether it was there."""
    end = args.index("--") if "--" in args else len(args)
    kept = [arg for arg in args[:end] if arg != "--debug"] + args[end:]
    return kept, len(kept) != len(args)


def run(argv: list[str] | None = None) -> int:
    """Run the app; map errors to one readable line and an exit status."""
    args, debug = _take_debug(list(sys.argv[1:] if argv is None else argv))
    _state.update(debug=debug, resumable=False)
    try:
        code = app(args=args, prog_name="topview", standalone_mode=False)
    except SystemExit as exc:  # argparse (topview simulator --help)
        code = exc.code
        return code if isinstance(code, int) else (EXIT_OK if code is None else EXIT_INCOMPLETE)
    except _UsageProblem as exc:
        print(f"error: {exc.message} (see '{exc.command} --help')", file=sys.stderr)
        return EXIT_USAGE
    except (KeyboardInterrupt, typer.Abort):
        return _interrupted()
    except Exception as exc:
        if _is_click_error(exc):  # usage errors, typer.BadParameter
            return _click_error(exc)
        if _state["debug"]:
            raise
        print(f"error: {_describe(exc)}", file=sys.stderr)
        return EXIT_USAGE if _is_usage_error(exc) else EXIT_INCOMPLETE
    if code == EXIT_INTERRUPTED:  # typer turns Ctrl-C into exit 130 without a word
        return _interrupted()
    return code if isinstance(code, int) else EXIT_OK


def _is_click_error(exc: Exception) -> bool:
    # Typer raises click's exceptions, from click or from its own copy of it (typer 0.2x):
    # told apart by what they have, not by class.
    return callable(getattr(exc, "format_message", None)) and isinstance(
        getattr(exc, "exit_code", None), int
    )


def _click_error(exc: Any) -> int:
    if type(exc).__name__ == "NoArgsIsHelpError":  # `topview batch`: the help, as click does
        exc.show()
        return int(exc.exit_code)
    message = str(exc.format_message()).rstrip(".")
    ctx = getattr(exc, "ctx", None)
    if exc.exit_code == EXIT_USAGE and ctx is not None:
        message += f" (see '{ctx.command_path} --help')"
    print(f"error: {message}", file=sys.stderr)
    return int(exc.exit_code)


EXIT_INTERRUPTED = 130


def _interrupted() -> int:
    if _state["resumable"]:
        message = "interrupted; run the same command again to resume (nothing done is lost)"
    else:
        message = "interrupted"
    print(message, file=sys.stderr)
    return EXIT_INTERRUPTED


def _describe(exc: BaseException) -> str:
    from .._exceptions import JobsFileError

    if isinstance(exc, JobsFileError):
        return exc.message  # a summary line, then every bad line indented
    if isinstance(exc, OSError) and exc.strerror:  # plain words, never "[Errno 2]"
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror.lower()}"
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
    jobs_file: Annotated[
        Path,
        typer.Argument(help="JSON Lines: {key, kind, params} a line.", exists=True, dir_okay=False),
    ],
    out: Annotated[
        Path,
        typer.Option("--out", help="Output directory (files, manifest, journal).", file_okay=False),
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
    """Run every job of JOBS_FILE to its files in OUT; the same command again resumes.

    The whole file is checked before anything is sent (JSON, keys, kinds, every job's params
    as its submit checks them, local files): any bad line, and nothing is submitted.
    """
    if engine not in ("local", "temporal"):
        raise typer.BadParameter("--engine is local or temporal")
    _state["resumable"] = True
    if engine == "temporal":
        if notice_url is not None:
            raise typer.BadParameter(
                "with --engine temporal, the workers hold the notice URL "
                "(topview temporal worker --notice-url)"
            )
        from ..jobs import load_jobs

        _run_async(lambda: load_jobs(jobs_file))  # the whole file, before any workflow starts
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


OutDirectory = Annotated[
    Path,
    typer.Argument(help="The batch's output directory.", exists=True, file_okay=False),
]


@batch_app.command("status")
def batch_status(
    out: OutDirectory,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="One JSON object a line per job (key, kind, status, task_id, files, credits, "
            "error, request), for scripts.",
        ),
    ] = False,
) -> None:
    """Every job in OUT's journal; exits 1 unless every job has its files."""
    from ._batch import show_status

    raise typer.Exit(_run_async(lambda: show_status(out, as_json=as_json)))


@batch_app.command("resolve")
def batch_resolve(
    out: OutDirectory,
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
    context_settings={
        "allow_extra_args": True,
        "ignore_unknown_options": True,
        "help_option_names": [],
    },
    add_help_option=False,
)
def simulator(ctx: typer.Context) -> None:
    """Run the built-in Topview simulator; prints `export` lines for its URL and credentials.

    Takes exactly the options of `python -m topview_async.testing` (one parser): see
    `topview simulator --help`.
    """
    from ._simulator import serve

    serve(ctx.args)
