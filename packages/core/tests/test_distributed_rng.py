"""The ranks' random generators after a resume on another number of processes (DDP, CPU gloo).

A two-process run with dropout is cut back to its step-6 checkpoint and resumed on three
processes, twice. Rank 0 restores its saved generators; ranks 1 and 2 (whose saved streams do not
exist, or belong to another split of the data) continue on streams seeded from (seed, step,
rank). Checked: the two resumes end bitwise equal, and the first dropout masks drawn after the
resume differ between every pair of ranks (correlated masks would train the ranks on the same noise).
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from forge.core._checkpoint import CheckpointManager
from forge.core.distributed import run_script

pytestmark = pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed is not available")

WORKER = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    import torch
    from safetensors.torch import save_file
    from torch import nn

    from forge.core.data._configs import LoaderConfig
    from forge.core.data._loader import build_loader
    from forge.core.distributed import detect_env
    from forge.core.trainer import CheckpointConfig, Trainer, TrainerConfig

    class FirstMask:
        # the zero pattern of the first dropout forward of this fit, i.e. the first mask drawn
        mask = None

        def on_train_start(self, trainer):
            dropout = next(m for m in trainer.unwrapped_model.modules() if isinstance(m, nn.Dropout))

            def record(module, inputs, output):
                if FirstMask.mask is None:
                    FirstMask.mask = (output == 0).to(torch.uint8).contiguous()

            dropout.register_forward_hook(record)

    run_dir, resume = Path(sys.argv[1]), sys.argv[2] == "resume"
    env = detect_env()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(96, 6, generator=g)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0).long()
    loader = build_loader(
        torch.utils.data.TensorDataset(x, y),
        LoaderConfig(batch_size=12 // env.world_size, num_workers=0),
        seed=3,
        rank=env.rank,
        world_size=env.world_size,
    )
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Dropout(0.5), nn.Linear(16, 3))
    config = TrainerConfig(
        max_epochs=None,
        max_steps=8,
        accumulate_grad_batches=2,
        val_every_n_epochs=None,
        progress=False,
        checkpoint=CheckpointConfig(every_n_epochs=None, every_n_steps=3, monitor=None),
    )
    trainer = Trainer(config, run_dir=run_dir, callbacks=[FirstMask()])
    trainer.fit(
        model,
        loader,
        loss_fn=nn.CrossEntropyLoss(),
        optimizer=lambda m: torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9),
        resume_from=run_dir if resume else None,
    )
    save_file({"mask": FirstMask.mask}, str(run_dir / f"mask-rank{env.rank}.safetensors"))
    if env.is_main:
        save_file(trainer.unwrapped_model.state_dict(), str(run_dir / "final.safetensors"))
    """
)


def _train(worker: Path, run_dir: Path, nproc: int, *, resume: bool) -> None:
    done = run_script(worker, nproc, [str(run_dir), "resume" if resume else "new"], timeout_s=120)
    assert done.returncode == 0, done.stderr[-4000:]


def _cut_back(run: Path, copy: Path, step: int) -> None:
    """Copy ``run`` without its results and its checkpoints after ``step``."""
    shutil.copytree(run, copy)
    for result in copy.glob("*.safetensors"):
        result.unlink()
    for checkpoint in (copy / "checkpoints").glob("step-*"):
        if int(checkpoint.name.removeprefix("step-")) > step:
            shutil.rmtree(checkpoint)
    CheckpointManager.rebuild_index(copy)
    assert (copy / "checkpoints" / f"step-{step:06d}").is_dir()


def test_a_reshard_resume_is_deterministic_and_every_rank_draws_its_own_masks(tmp_path: Path) -> None:
    worker = tmp_path / "worker.py"
    worker.write_text(WORKER, encoding="utf-8")
    _train(worker, tmp_path / "two", 2, resume=False)
    finals, masks = [], []
    for attempt in ("a", "b"):
        copy = tmp_path / f"resumed-{attempt}"
        _cut_back(tmp_path / "two", copy, 6)  # mid-epoch 2: 36 samples consumed, 12 per rank on three
        _train(worker, copy, 3, resume=True)
        finals.append(load_file(str(copy / "final.safetensors")))
        masks.append([load_file(str(copy / f"mask-rank{r}.safetensors"))["mask"] for r in range(3)])
    first, second = finals
    assert first.keys() == second.keys()
    assert all(torch.equal(first[k], second[k]) for k in first)  # bitwise: the resume is deterministic
    assert all(torch.equal(a, b) for a, b in zip(*masks, strict=True))
    drawn = masks[0]
    assert all(m.shape == (4, 16) and 0 < int(m.sum()) < m.numel() for m in drawn)
    for i, j in ((0, 1), (0, 2), (1, 2)):
        agree = float((drawn[i] == drawn[j]).float().mean())
        print(f"ranks {i} and {j}: masks agree on {agree:.2f} of positions")
        assert not torch.equal(drawn[i], drawn[j])
    # the uninterrupted two-process run's rank 1 drew from its own stream too
    original = load_file(str(tmp_path / "two" / "mask-rank1.safetensors"))["mask"]
    assert not torch.equal(original, load_file(str(tmp_path / "two" / "mask-rank0.safetensors"))["mask"])
