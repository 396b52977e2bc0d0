"""The simulator's state and the operations every handler shares.

One :class:`Simulator` is one fake Topview: its account, tasks, uploads, pending
callbacks, catalogues, faults and request log. ``sim.app`` is the ASGI application
serving it; :class:`~topview_async.testing.SimulatorServer` puts it on a real port.
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections.abc import Callable
from typing import Any

import anyio
from starlette.requests import Request
from starlette.types import ASGIApp

from ._catalog import Catalog
from ._config import SimulatorConfig
from ._credits import Charge, Ledger, task_cost
from ._errors import ApiError
from ._faults import FaultSet
from ._log import RequestLog
from ._media import MediaStore
from ._tasks import BIZ_TYPES, DeliveryAttempt, Notice, SimTask
from ._uploads import StoredUpload

BOARD_KINDS = frozenset(
    {
        "image_to_video_v2",
        "text_to_video",
        "omni_reference",
        "storyboard",
        "text_to_image",
        "image_edit",
        "photo_avatar",
        "product_avatar_image_to_video_v2",
        "product_avatar_image_replace_v3",
        "anyshoot_product_model",
        "text_to_speech",
    }
)
"""Kinds whose results are filed on a board (the submits that take ``boardId``)."""


class Simulator:
    """A fake Topview account and server state.

    >>> sim = Simulator(SimulatorConfig(seed=7, clock=ManualClock()))
    >>> async with httpx.AsyncClient(transport=httpx.ASGITransport(sim.app)) as client: ...
    """

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.config = config or SimulatorConfig()
        self.tasks: dict[str, SimTask] = {}
        """Tasks by id (M2V exports live in their parent's ``exports``)."""
        self.uploads: dict[str, StoredUpload] = {}
        """Every file id handed out, with the stored bytes once PUT."""
        self.notices: list[Notice] = []
        """Every callback the simulator owes, with its delivery attempts."""
        self.notice_checks: list[tuple[str, DeliveryAttempt]] = []
        """Every notice URL check: the URL and what its test notice got back."""
        self.replace_keys: dict[str, SimTask] = {}
        self.ledger = Ledger(self.config.credit)
        """The credit balance: the starting credit and every task's charge."""
        self.boards: dict[str, dict[str, Any]] = {}
        """Boards by id (each uid's default board is created on first use)."""
        self.photo_templates: list[dict[str, Any]] = []
        """Photo avatar templates created through the API (the catalogue has the public ones)."""
        self.deleted_voices: set[str] = set()
        """Cloned voices deleted through the API."""
        self.catalog = Catalog(self.config.seed)
        self.media = MediaStore(self.config.seed, self.config.media_size)
        self.faults = FaultSet(self.config.faults, self.config.seed)
        self.requests = RequestLog()
        # The server's own waits must not vanish when a test patches the SDK's sleep
        # (topview_async._sleep) to skip client backoff, so they use anyio directly.
        self.sleep = self.config.sleep or anyio.sleep
        self._rng = random.Random(f"tasks:{self.config.seed}")
        self._changed = threading.Condition()
        self.serving = threading.Event()
        """Set while the app's lifespan (and so the callback delivery loop) runs."""
        if self._builds_app:
            from ._app import build_app  # the app module needs this class: import it late

            self.app: ASGIApp = build_app(self)

    _builds_app = True  # not for the state reset() adopts (_FreshState)

    _HELD_BY_APP = frozenset({"app", "serving", "_changed", "faults", "requests"})
    """What the app (and so a running server) holds on to: kept by :meth:`reset`."""

    def reset(self, config: SimulatorConfig | None = None) -> None:
        """Become a new simulator again, with ``config`` when given: no tasks, uploads,
        callbacks owed, notice checks, credit spent, boards, requests logged or media changes;
        the configuration's faults, media size, clock and id sequence.

        The ASGI app stays the same object, so one running server can serve test after test.
        On a :class:`~topview_async.testing.SimulatorServer`, call its ``reset`` instead: it
        first lets the requests in progress end, so none of them touches the new state.
        """
        # The state of a simulator built now: whatever __init__ sets up is reset, without a
        # list here to keep in step with it. Only what the app holds is refreshed in place.
        fresh = _FreshState(config or self.config)
        with self._changed:
            for name, value in vars(fresh).items():
                if name not in self._HELD_BY_APP:
                    setattr(self, name, value)
            self.faults.reset(self.config.faults, self.config.seed)
            self.requests.clear()
            self._changed.notify_all()

    @property
    def api_key(self) -> str:
        return self.config.api_key

    @property
    def uid(self) -> str:
        return self.config.uid

    @property
    def media_size(self) -> int:
        """Bytes of every served media file; set it in a test to get bigger downloads."""
        return self.media.size

    @media_size.setter
    def media_size(self, size: int) -> None:
        self.media.size = size

    def now(self) -> float:
        return self.config.clock()

    def new_id(self) -> str:
        """A 32-char hex id, reproducible for a given seed and call order."""
        return f"{self._rng.getrandbits(128):032x}"

    def chance(self, probability: float) -> bool:
        return probability > 0 and self._rng.random() < probability

    # -- waiting from another thread (tests of the threaded server) ---------------

    def notify(self) -> None:
        """Wake threads blocked in :meth:`wait_for` (after any state change)."""
        with self._changed:
            self._changed.notify_all()

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        """Block until ``predicate()`` is true (re-checked on every state change)."""
        with self._changed:
            return self._changed.wait_for(predicate, timeout)

    # -- helpers for handlers --------------------------------------------------------

    @staticmethod
    def uid_of(request: Request) -> str:
        return str(request.scope.get("topview_uid", ""))

    @staticmethod
    def base_url(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    def find_task(self, task_id: str | None, uid: str, kinds: tuple[str, ...]) -> SimTask:
        """The caller's task ``task_id`` of one of ``kinds``, else 4004."""
        task = self.tasks.get(task_id or "")
        if task is None or task.uid != uid or task.kind not in kinds:
            raise ApiError("4004", f"taskId {task_id} not found")
        return task

    def require_files(self, uid: str, *file_ids: str | None) -> None:
        """4004 unless every given id was issued to ``uid`` and its bytes were uploaded."""
        now = self.now()
        for file_id in file_ids:
            if file_id is None or file_id in self.catalog.file_ids:
                continue
            upload = self.uploads.get(file_id)
            if upload is None or upload.uid != uid or not upload.usable(now):
                raise ApiError("4004", f"fileId {file_id} not found or not uploaded")

    def unfinished_tasks(self, uid: str) -> int:
        now = self.now()
        return sum(t.unfinished_count(now) for t in self.tasks.values() if t.uid == uid)

    def create_task(
        self,
        kind: str,
        request: Request,
        body: dict[str, Any],
        *,
        parent: SimTask | None = None,
        **extra: Any,
    ) -> SimTask:
        """Register a task (4007 when the uid is at its unfinished-task limit)."""
        uid = self.uid_of(request)
        limit = self.config.max_unfinished_tasks
        if limit is not None and self.unfinished_tasks(uid) >= limit:
            raise ApiError("4007")
        cost = task_cost(kind, body)
        if cost > self.ledger.balance(uid, self.now()):
            raise ApiError("4100", f"this task costs {cost} credits")
        board_id = body.get("boardId")
        if kind in BOARD_KINDS and not board_id:
            board_id = self.default_board(uid)["boardId"]
        fails = self.chance(self.config.failure_probability.get(kind, 0.0))
        task = SimTask(
            task_id=parent.task_id if parent is not None else self.new_id(),
            kind=kind,
            uid=uid,
            created_at=self.now(),
            duration=self.config.duration(kind),
            fails=fails,
            request=body,
            base_url=self.base_url(request),
            parent=parent,
            cost=cost,
            board_id=board_id if isinstance(board_id, str) else None,
            **extra,
        )
        self.ledger.add(Charge(task, cost, self.config.api_key))
        notice_url = body.get("noticeUrl")
        if isinstance(notice_url, str) and notice_url:
            biz = "m2v_preview" if kind == "m2v" and task.preview else kind
            task.notice = Notice(self.new_id(), notice_url, uid, task, BIZ_TYPES[biz])
            self.notices.append(task.notice)
        if parent is None:
            self.tasks[task.task_id] = task
        return task

    def default_board(self, uid: str) -> dict[str, Any]:
        """The uid's "My First Board", created on first use (its id depends on the seed only)."""
        digest = hashlib.sha256(f"board:{self.config.seed}:{uid}".encode()).hexdigest()[:32]
        board = self.boards.get(digest)
        if board is None:
            board = self.boards[digest] = {
                "boardId": digest,
                "uid": uid,
                "name": "My First Board",
                "isSystemDefault": True,
                "gmtCreate": 1_700_000_000_000,
            }
        return board

    def find_board(self, board_id: str | None, uid: str) -> dict[str, Any]:
        """The caller's board ``board_id`` (the default one is always there), else 4004."""
        self.default_board(uid)
        board = self.boards.get(board_id or "")
        if board is None or board["uid"] != uid:
            raise ApiError("4004", f"boardId {board_id} not found")
        return board

    def submit_result(self, task: SimTask) -> dict[str, Any]:
        """The ``result`` of a submit response."""
        now = self.now()
        result: dict[str, Any] = {
            "taskId": task.task_id,
            "status": task.status(now),
            "errorMsg": None,
        }
        if task.notice is not None:
            result["noticeUuid"] = task.notice.uuid
        return result

    async def deliver_notices(self) -> int:
        """Attempt every due callback once; returns how many attempts were made."""
        from ._callbacks import deliver_due

        return await deliver_due(self)


class _FreshState(Simulator):
    """The state of a new simulator without its app (building one costs milliseconds)."""

    _builds_app = False
