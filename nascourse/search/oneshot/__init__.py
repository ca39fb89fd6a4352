"""One-shot architecture search on the NAS-Bench-201 supernet (chapter 04).

Four strategies share one supernet (:class:`nascourse.nn.supernet.NB201Supernet`) and one
training loop:

- :func:`random_weight_sharing` (Li & Talwalkar): train the weights on one uniformly
  random cell per step, then rank sampled cells by their accuracy with the shared weights;
- :func:`darts` (Liu et al.): alternate an architecture step on the validation half of
  the data and a weight step on the training half, first order (``order=1``) or with the
  finite-difference second-order approximation (``order=2``);
- :func:`gdas` (Dong & Yang): the same alternation, but every step runs a single path
  drawn with the straight-through Gumbel-softmax, its temperature annealed over the run;
- :func:`perturbation_selection` (Wang et al. 2021): pick each edge's operation by how much
  removing it from a trained supernet hurts, instead of by the largest ``alpha``;
- ``'darts_latency'`` (:class:`LatencyDARTS`, chapter 09): DARTS whose architecture loss adds
  ``latency_weight`` times the cell's expected latency on a HW-NAS-Bench device
  (``run_search("darts_latency", data, options={"latency_weight": 0.001, "target": "pixel3"})``).

The package is split by what each part holds:

- :mod:`~nascourse.search.oneshot.methods`: the :data:`METHODS` registry (a new method is
  one :class:`OneShotMethod` subclass registered in one line; its keyword arguments are
  its options, :meth:`OneShotMethod.arch_penalty` an extra term of its architecture loss),
  the Gumbel draw and the second-order gradient;
- :mod:`~nascourse.search.oneshot.settings`: :class:`SearchSettings`, the checked, frozen
  settings of a run, and the paper's and the chapter's settings;
- :mod:`~nascourse.search.oneshot.data`: :func:`search_data`, the two halves of the
  training images for the bilevel problem;
- :mod:`~nascourse.search.oneshot.loop`: :func:`run_search` (and :func:`darts`,
  :func:`gdas`) and the :class:`SearchResult` it returns;
- :mod:`~nascourse.search.oneshot.selection`: ranking cells with shared weights and
  perturbation-based selection;
- :mod:`~nascourse.search.oneshot.checkpoints` and :mod:`~nascourse.search.oneshot.memory`:
  checkpoint I/O (a temporary file renamed once complete, read back with
  ``torch.load(weights_only=True)``) and the memory of one training step on a CPU or a GPU.

Everything runs on the device given (the GPU by default when torch sees one). Long runs
show progress bars, save a checkpoint after every epoch and resume from it.
"""

from nascourse.search.oneshot.checkpoints import load_checkpoint, save_checkpoint
from nascourse.search.oneshot.data import (DATASETS, LAPTOP_DATA, NUM_CLASSES, PAPER_DATA, SearchData,
                                           check_search_data, search_data)
from nascourse.search.oneshot.loop import SearchResult, darts, gdas, run_search, search
from nascourse.search.oneshot.memory import step_memory, training_step_memory
from nascourse.search.oneshot.methods import (DARTS, GDAS, METHODS, LatencyDARTS, OneShotMethod,
                                              RandomWeightSharing, gradients, gumbel_path, method_instance,
                                              second_order_arch_grad)
from nascourse.search.oneshot.selection import (PerturbationResult, perturbation_selection, random_weight_sharing,
                                                rank_cells)
from nascourse.search.oneshot.settings import LAPTOP_SETTINGS, PAPER_SETTINGS, SearchSettings

__all__ = ["DARTS", "DATASETS", "GDAS", "LAPTOP_DATA", "LAPTOP_SETTINGS", "METHODS", "LatencyDARTS", "NUM_CLASSES",
           "PAPER_DATA",
           "PAPER_SETTINGS", "OneShotMethod", "PerturbationResult", "RandomWeightSharing", "SearchData",
           "SearchResult", "SearchSettings", "check_search_data", "darts", "gdas", "gradients", "gumbel_path",
           "load_checkpoint", "method_instance", "perturbation_selection", "random_weight_sharing", "rank_cells", "run_search",
           "save_checkpoint", "search", "search_data", "second_order_arch_grad", "step_memory",
           "training_step_memory"]
