"""Training on several processes, GPUs and machines: launch, process group, rank-0 duties, barriers.

The same recipe runs on one process or many: ``forge train RECIPE --nproc-per-node N`` (or
``torchrun``, ``accelerate launch``, ``srun``) starts the processes, and the ``trainer.distributed``
section (:class:`DistributedConfig`) says how they work together. See ``docs/distributed.md``.

Names are imported lazily, so the config classes can be read (``forge info``) without torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from forge.core._lazy import lazy_exports

if TYPE_CHECKING:
    from forge.core.distributed._config import DistributedConfig as DistributedConfig
    from forge.core.distributed._config import FSDPConfig as FSDPConfig
    from forge.core.distributed._env import DistributedEnv as DistributedEnv
    from forge.core.distributed._env import adopt_slurm_env as adopt_slurm_env
    from forge.core.distributed._env import detect_env as detect_env
    from forge.core.distributed._env import rank_seed as rank_seed
    from forge.core.distributed._fsdp import shard_model as shard_model
    from forge.core.distributed._launch import launch as launch
    from forge.core.distributed._process import DistributedError as DistributedError
    from forge.core.distributed._process import accelerator_kwargs as accelerator_kwargs
    from forge.core.distributed._process import barrier as barrier
    from forge.core.distributed._process import broadcast_text as broadcast_text
    from forge.core.distributed._process import init_process_group as init_process_group
    from forge.core.distributed._sharded import export_consolidated as export_consolidated
    from forge.core.distributed._sharded import load_sharded as load_sharded
    from forge.core.distributed._sharded import save_sharded as save_sharded
    from forge.core.distributed._testing import run_script as run_script

__getattr__, __dir__ = lazy_exports(__name__, __file__)
