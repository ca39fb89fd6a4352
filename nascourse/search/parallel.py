"""Parallel evaluation for the search strategies (chapter 03).

Every strategy evaluates through a ``concurrent.futures.Executor`` (see
:func:`nascourse.search.base.run`), so the same search runs serially, on local processes
or on a cluster. This module holds the pieces that make that practical:

- :class:`DaskExecutor` starts a local Dask cluster (one single-threaded worker process per
  core) and submits to it; given the address of a running scheduler it submits to that
  (multi-machine) cluster instead; :func:`dask_executor` is the same as a context manager;
- :class:`RestartingProcessPool` is a process pool that replaces itself when a worker
  process dies, so a crashed evaluation does not break the rest of the search;
- :class:`SimulatedFailures` makes an objective fail on a fixed fraction of architectures,
  by raising or by killing its worker process, to test all of the above.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import hashlib
import logging
import multiprocessing
import os
from typing import Any, Callable, Iterator

from nascourse._checks import check_choice, check_fraction, check_int


class DaskExecutor(cf.Executor):
    """A ``concurrent.futures`` executor backed by a Dask cluster.

    Without ``address`` it starts a local cluster of ``n_workers`` worker processes with
    ``threads_per_worker`` threads each (one thread suits single-threaded training runs);
    with ``address`` (e.g. ``"tcp://scheduler-host:8786"``) it connects to a running,
    possibly multi-machine, cluster instead and uses its workers as they are. A task whose
    worker process dies is retried on another worker at most ``allowed_failures`` times,
    then fails with ``KilledWorker``, which a search records as a failed evaluation
    (Dask's default of 3 retries would let one crashing architecture kill four workers in
    turn; the setting applies to a local cluster, a remote scheduler keeps its own). The
    local workers also run without Dask's ``MALLOC_TRIM_THRESHOLD_`` setting, which slows
    PyTorch training down markedly.
    ``warm_up`` (a picklable callable) runs once on every worker before any task, e.g. to
    import torch and load the data. :meth:`shutdown` closes the client, and the cluster
    if this object started it; it is also a context manager.
    """

    def __init__(self, n_workers: int = 2, threads_per_worker: int = 1, allowed_failures: int = 0,
                 warm_up: Callable[[], Any] | None = None, address: str | None = None, **cluster_options):
        import dask
        from distributed import Client, LocalCluster

        n_workers, threads_per_worker = check_int("n_workers", n_workers), check_int("threads_per_worker", threads_per_worker)
        allowed_failures = check_int("allowed_failures", allowed_failures, minimum=0)
        self.cluster = None
        if address is None:
            options = dict(processes=True, dashboard_address=None, silence_logs=logging.CRITICAL)
            options.update(cluster_options)
            settings = {"distributed.scheduler.allowed-failures": allowed_failures,
                        # Dask's default (65536) makes glibc hand memory back to the system
                        # so eagerly that PyTorch's many small allocations run ~1.5x slower
                        "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
                        # the workers' sampling profiler and GIL monitor compete with the
                        # training thread for the GIL: off, as nobody looks at a dashboard here
                        "distributed.worker.profile.enabled": False,
                        # one task per worker thread at a time: a worker that dies takes only
                        # the evaluation it was running with it, never one queued behind it
                        "distributed.scheduler.worker-saturation": 1.0,
                        "distributed.admin.system-monitor.gil.enabled": False}
            with dask.config.set(settings):
                self.cluster = LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker, **options)
            self.client = Client(self.cluster)
            self.client.wait_for_workers(n_workers)
        else:
            self.client = Client(address)
        if warm_up is not None:
            self.client.run(warm_up)
        self._executor = self.client.get_executor(pure=False)  # pure=False: the same arch twice runs twice

    @property
    def _client(self):  # what nascourse.search.base.executor_slots looks for
        return self.client

    def submit(self, fn, /, *args, **kwargs) -> cf.Future:
        return self._executor.submit(fn, *args, **kwargs)

    def workers(self) -> dict[str, int]:
        """Address and thread count of every worker the scheduler currently knows."""
        return dict(self.client.nthreads())

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        if self.client.status == "closed":
            return
        self._executor.shutdown(wait=wait and not cancel_futures)
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


@contextlib.contextmanager
def dask_executor(n_workers: int = 2, threads_per_worker: int = 1, allowed_failures: int = 0,
                  warm_up: Callable[[], Any] | None = None, address: str | None = None,
                  **cluster_options) -> Iterator[DaskExecutor]:
    """A :class:`DaskExecutor` that is shut down (with its local cluster) on exit."""
    executor = DaskExecutor(n_workers, threads_per_worker, allowed_failures, warm_up, address, **cluster_options)
    try:
        yield executor
    finally:
        executor.shutdown(wait=False)


class RestartingProcessPool(cf.Executor):
    """A ``ProcessPoolExecutor`` that starts a fresh pool when a worker process has died.

    When a worker dies, Python marks the whole pool as broken: every evaluation still in
    flight fails with ``BrokenProcessPool`` (the search records them as failed) and the
    pool refuses new work. This wrapper then replaces the pool, so the search goes on;
    :attr:`restarts` counts the replacements.
    """

    def __init__(self, max_workers: int = 2, **pool_options):
        max_workers = check_int("max_workers", max_workers)
        self._max_workers, self._options = max_workers, pool_options
        self._pool = cf.ProcessPoolExecutor(max_workers, **pool_options)
        self.restarts = 0

    def submit(self, fn, /, *args, **kwargs) -> cf.Future:
        try:
            return self._pool.submit(fn, *args, **kwargs)
        except cf.process.BrokenProcessPool:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = cf.ProcessPoolExecutor(self._max_workers, **self._options)
            self.restarts += 1
            return self._pool.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)


def _fails(arch: Any, rate: float, seed: int) -> bool:
    digest = hashlib.sha256(f"{seed}:{arch}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rate


class SimulatedFailures:
    """Wrap an objective so that it fails on a fixed fraction ``rate`` of architectures
    (the same ones for the same ``seed``, on any machine).

    ``mode='raise'`` raises a ``RuntimeError`` (a crashed training run);
    ``mode='kill'`` ends the worker process at once with ``os._exit`` (a lost machine). A
    kill is only done in a child process: called in the main process, it raises instead,
    so a serial run cannot take down the notebook.
    """

    MODES = ("raise", "kill")

    def __init__(self, objective: Callable, rate: float = 0.1, mode: str = "raise", seed: int = 0):
        rate = check_fraction("rate", rate)
        check_choice("mode", mode, self.MODES)
        self.objective, self.rate, self.mode, self.seed = objective, rate, mode, seed

    def fails(self, arch: Any) -> bool:
        """Whether the evaluation of ``arch`` will fail."""
        return _fails(arch, self.rate, self.seed)

    def __call__(self, arch: Any, *args, **kwargs) -> Any:
        if self.fails(arch):
            if self.mode == "kill" and multiprocessing.parent_process() is not None:
                os._exit(1)
            raise RuntimeError(f"simulated failure while evaluating {arch}")
        return self.objective(arch, *args, **kwargs)


def busy_workers(history) -> float:
    """The mean number of evaluations running at once between the first start and the
    last finish of ``history`` (from the recorded start and finish times; failed
    evaluations, which have none, are left out). Close to the number of workers when
    none of them sat idle."""
    spans = [(e.started, e.finished) for e in history if e.ok]
    if not spans:
        raise ValueError("no successful evaluation with recorded times in this history")
    start, end = min(s for s, _ in spans), max(f for _, f in spans)
    return sum(f - s for s, f in spans) / (end - start) if end > start else 1.0


def plot_timeline(history, ax=None, label: str = "evaluation"):
    """Draw when each evaluation of ``history`` ran, one row per worker process (seconds
    from the first start; failed evaluations, which have no times, are not drawn). A new
    figure spans the text column (:data:`nascourse.viz.TEXT_WIDTH`); each bar is labelled
    with its step in 9-point type, the smallest the course's figures use."""
    import matplotlib.pyplot as plt

    from nascourse import viz

    ok = [e for e in history if e.ok]
    if not ok:
        raise ValueError("no successful evaluation with recorded times in this history")
    if ax is None:
        _, ax = plt.subplots(figsize=(viz.TEXT_WIDTH, 2.5))
    workers = sorted({e.worker for e in ok})
    t0 = min(e.started for e in ok)
    for e in ok:
        row = workers.index(e.worker)
        ax.barh(row, e.finished - e.started, left=e.started - t0, height=0.6, color="C0", edgecolor="white")
        ax.text(e.started - t0 + (e.finished - e.started) / 2, row, str(e.step), ha="center", va="center",
                fontsize=9, color="white")
    ax.set_yticks(range(len(workers)), [f"worker {i}" for i in range(len(workers))])
    ax.set(xlabel="seconds since the first evaluation started", ylim=(-0.6, len(workers) - 0.4))
    return ax
