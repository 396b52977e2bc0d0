"""A faithful stand-in for the Topview API, for tests and demos (like stripe-mock).

Install the extra ``topview-async[testing]`` (Starlette and uvicorn). Then::

    from topview_async.testing import SimulatorConfig, SimulatorServer

    with SimulatorServer(SimulatorConfig(time_scale=20)) as server:
        ...  # point the client at server.base_url with server.api_key / server.uid

In pytest, the ``topview_simulator`` fixture (from the plugin this package registers)
yields a running :class:`SimulatorServer`. :class:`Simulator` alone is an ASGI app
(``sim.app``) for ``httpx.ASGITransport``. Run standalone with
``python -m topview_async.testing --port 8000``.

Behaviour worth knowing (where REFERENCE.md leaves the real API open):

* Validation: missing required field -> 4003, bad enum/bounds -> 4000, wrong type -> 4001,
  unknown ``taskId`` -> 4004. A submit that references a file id that was never issued,
  belongs to another uid or was issued but never PUT also answers 4004 (so do unknown
  voice/avatar/caption/template ids, and an unknown ``productReplaceResultKey``).
* M2V export before the previews are ready -> 4006; export of a ``preview=false`` task -> 4000.
  While an export renders, the task's top-level ``status`` is ``running``.
* Script ids are not 0-based; ``scriptId`` 0 (or omitted) means the first script.
* ``/v1/ethnicity/list`` answers a plain array, or a page when ``pageNo``/``pageSize`` is sent.
* A callback is acknowledged only by the documented reply (``result.result == "success"``);
  anything else is retried (``callback_max_attempts``, ``callback_retry_interval``). The notice
  URL check POSTs a test notice with ``bizType`` ``NOTICE_URL_CHECK`` and answers 4000 unless
  acknowledged.
* Upload check of a never-issued file id -> 4004; of an issued, not yet PUT one -> ``false``.

:func:`set_testing` is the SDK's testing switch (no waits on the wall clock, optionally capped
retries), for tests of code that uses the SDK, with or without the simulator.

Names are imported lazily, so loading the pytest plugin costs nothing until used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import _lazy

if TYPE_CHECKING:
    from .._sleep import set_testing
    from ._config import ManualClock, SimulatorConfig
    from ._faults import Fault, FaultSet
    from ._log import RecordedRequest, RequestLog
    from ._server import SimulatorServer
    from ._simulator import Simulator

__all__ = [
    "Fault",
    "FaultSet",
    "ManualClock",
    "RecordedRequest",
    "RequestLog",
    "Simulator",
    "SimulatorConfig",
    "SimulatorServer",
    "set_testing",
]

_HOMES = {
    "Fault": "._faults",
    "FaultSet": "._faults",
    "ManualClock": "._config",
    "RecordedRequest": "._log",
    "RequestLog": "._log",
    "Simulator": "._simulator",
    "SimulatorConfig": "._config",
    "SimulatorServer": "._server",
    "set_testing": ".._sleep",
}


def __getattr__(name: str) -> Any:
    return _lazy.attribute(__name__, _HOMES, name, globals())


def __dir__() -> list[str]:
    return sorted(__all__)
