"""Objectives for the search strategies (chapter 03): look-ups in the NAS-Bench-201 table,
and (in :mod:`nascourse.search.training`) real training runs.

An objective maps an architecture to a score to maximise, optionally with extra
information for reporting; see :func:`nascourse.search.base.run`.
"""

from __future__ import annotations

from functools import cached_property

from nascourse import benchmarks
from nascourse._checks import check_choice, check_type
from nascourse.spaces import nb201

SELECTIONS = ("auto", "val", "test")


class BenchmarkObjective:
    """Score a cell by table look-up, following the NAS-Bench-201 protocol: *select* on
    validation accuracy, *report* test accuracy (``info['test_acc']``).

    The shipped table has CIFAR-10 validation accuracies only; on CIFAR-100 and
    ImageNet16-120 the search must select on test accuracy, which optimistically biases
    the result. ``select_on='auto'`` picks validation where it exists and test otherwise;
    :attr:`selects_on_test` says which happened.
    """

    def __init__(self, dataset: str = "cifar10", select_on: str = "auto"):
        self.dataset = benchmarks.check_dataset(dataset)
        check_choice("select_on", select_on, SELECTIONS)
        has_val = dataset == "cifar10"
        if select_on == "val" and not has_val:
            raise ValueError(
                f"no validation accuracy is shipped for {dataset!r}; use select_on='test' "
                "(and say that the search selects on test accuracy)"
            )
        self.select_on = ("val" if has_val else "test") if select_on == "auto" else select_on
        self.selects_on_test = self.select_on == "test"

    @cached_property
    def _columns(self):
        table = benchmarks.load_nb201(self.dataset)
        score = table["val_acc" if self.select_on == "val" else "test_acc"].to_numpy()
        return score, table["test_acc"].to_numpy()

    @property
    def optimum(self) -> float:
        """The best test accuracy in the space: the reference for regret."""
        return float(self._columns[1].max())

    def __call__(self, cell: nb201.Cell) -> dict:
        check_type("cell", cell, nb201.Cell, "a nascourse.spaces.nb201.Cell")
        score, test = self._columns
        i = cell.index
        return {"score": float(score[i]), "test_acc": float(test[i])}

    def __getstate__(self):  # ship only the settings to worker processes
        return {k: v for k, v in self.__dict__.items() if k != "_columns"}

    def __repr__(self) -> str:
        return f"BenchmarkObjective(dataset={self.dataset!r}, select_on={self.select_on!r})"
