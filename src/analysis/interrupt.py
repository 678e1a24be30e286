"""Ctrl-C in parallel commands: one line from the parent, no traceback from any worker.

A terminal sends SIGINT to every process of the foreground group, so each worker of a pool
raised its own ``KeyboardInterrupt`` and printed its traceback (issue 12, case 17: six of
them). Workers now ignore SIGINT (``ignore_sigint``, a pool initializer); the parent alone
stops: it ends the pool (``stop_pool``) and ``analysis.cli`` prints one line saying what was
left behind and exits 130.
"""

from __future__ import annotations

import signal
from concurrent.futures import ProcessPoolExecutor

__all__ = ["ignore_sigint", "stop_pool"]



def ignore_sigint() -> None:
    """Pool initializer: the worker ignores Ctrl-C; its parent decides and stops it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def stop_pool(pool: ProcessPoolExecutor, timeout: float = 5.0) -> None:
    """Cancel what has not started and end the workers now, without waiting for running
    tasks (a notebook can run for minutes). Their kernels notice that their parent has gone
    and exit on their own (ipykernel's parent poller)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in processes:
        if proc.is_alive():
            proc.terminate()
    for proc in processes:
        proc.join(timeout)
