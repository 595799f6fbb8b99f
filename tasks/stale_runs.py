"""Flow runs left "Running" by a killed process are marked Crashed by the next run of the same flow.

Prefect 3.8.8 notices a dead process only for runs it launched itself (workers, runners with
heartbeats); a flow called from a command or a test has no heartbeat, so a SIGKILL leaves its run
Running forever. Each run therefore records its process as `infrastructure_pid` (`host:pid`, the
format Prefect's runner uses) when it starts, and looks for earlier Running runs of its flow whose
process on this host is gone (or whose pid was reused by a younger process). Runs of a deployment
are left to Prefect: their worker or runner watches their process, and it records that process
itself.
"""

from __future__ import annotations

import logging
import os
import socket
from typing import Any

import psutil
from prefect import Flow, get_client
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterId,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import FlowRun, State, StateType
from prefect.flows import FlowStateHook
from prefect.logging import get_logger
from prefect.states import Crashed

_logger = get_logger("zenodo_atlas.stale_runs")


class _QuietHookNotes(logging.Filter):
    """Prefect announces every hook at INFO, twice per flow run; this bookkeeping is not news (its errors are)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.INFO or "'mark_stale_runs'" not in record.getMessage()


logging.getLogger("prefect.engine").addFilter(_QuietHookNotes())


def _process_gone(run: FlowRun, host: str) -> bool:
    """Whether the process recorded for `run` on this host no longer runs it (never guesses for another host)."""
    recorded_host, _, pid = (run.infrastructure_pid or "").rpartition(":")
    if recorded_host != host or not pid.isdigit():
        return False
    try:
        started = psutil.Process(int(pid)).create_time()
    except psutil.NoSuchProcess:
        return True
    return run.start_time is not None and started > run.start_time.timestamp() + 1.0  # a reused pid


async def mark_stale_runs(flow: Flow[Any, Any], flow_run: FlowRun, state: State) -> None:
    """on_running hook: claim this run for this process, then crash the runs of this flow that lost theirs."""
    host = socket.gethostname()
    async with get_client() as client:
        if flow_run.deployment_id is None and not flow_run.infrastructure_pid:
            await client.update_flow_run(flow_run.id, infrastructure_pid=f"{host}:{os.getpid()}")
        running = await client.read_flow_runs(
            flow_filter=FlowFilter(id=FlowFilterId(any_=[flow_run.flow_id])),
            flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.RUNNING]))),
        )
        for run in running:
            if run.id != flow_run.id and run.deployment_id is None and _process_gone(run, host):
                await client.set_flow_run_state(
                    run.id, Crashed(message=f"its process ({run.infrastructure_pid}) ended without reporting; "
                                    f"found by run {flow_run.name}"), force=True,
                )
                _logger.warning("Marked run %s of %s as crashed: its process is gone", run.name, flow.name)


STALE_RUN_HOOKS: list[FlowStateHook[..., Any]] = [mark_stale_runs]
"""`on_running=` for the flows users start: their killed runs do not stay Running."""
