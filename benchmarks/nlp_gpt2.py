"""GPT-2 small: forge-nlp vs transformers, training throughput and greedy generation, on one GPU.

Side by side in one run, same weights, same settings:

* training: GPT-2 small (vocabulary padded to 50304, dropout 0), batch 16 x 1024 tokens, bf16 autocast,
  fused AdamW; tokens/s eager and under ``torch.compile``, for forge's ``GPT`` and transformers'
  ``GPT2LMHeadModel`` (``attn_implementation="sdpa"``). MFU = 6 * N * tokens/s / peak, with N the
  parameter count (embeddings included, tied head once) and peak 989e12 FLOP/s (H100/H200 dense
  bf16 tensor-core peak, no sparsity).
* generation: bf16 weights, greedy, 128 prompt tokens, 256 new tokens, batch 1 and 32: forge with its
  static KV cache and the decode step compiled with ``mode="reduce-overhead"`` (CUDA graphs), forge
  eager with its growing cache, and transformers' ``generate`` (default dynamic cache, eager).
  Token agreement with transformers is reported per batch size (bf16 kernels differ, so greedy paths
  may part late), and an exact float32 check (batch 2, 64 tokens) must agree token for token.

Weights are random (nothing is downloaded); the embedding is re-drawn with std 0.5 so that logits are
well separated and greedy decoding is a meaningful comparison. Needs transformers; run::

    pip install --no-deps -e packages/core -e packages/nlp
    python benchmarks/nlp_gpt2.py            # < 3 minutes on one H200; --budget-s caps it

Prints one JSON line (also written to ``$OUT/nlp_gpt2.json`` when ``$OUT`` is set). A section that
would start after ``--budget-s`` (135 s) is skipped and listed under ``"skipped"``; run it on its own
with ``--sections train_compiled`` (or ``generate``). ``--smoke`` runs tiny sizes on the CPU to check
the script itself.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

PEAK_BF16_FLOPS = 989e12
VOCAB = 50304
BATCH, SEQ = 16, 1024
PROMPT, NEW = 128, 256


def _hf_model(cfg: Any, tr: Any) -> Any:
    return tr.GPT2LMHeadModel._from_config(cfg, attn_implementation="sdpa")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--budget-s", type=float, default=135.0, help="skip sections that would start after this")
    parser.add_argument("--train-steps", type=int, default=10)
    parser.add_argument("--sections", default="train_eager,generate,train_compiled")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes on CPU, no compilation: checks the script")
    args = parser.parse_args(argv)
    global VOCAB, BATCH, SEQ, PROMPT, NEW
    width, layers, heads = 768, 12, 12
    if args.smoke:
        VOCAB, BATCH, SEQ, PROMPT, NEW = 512, 2, 64, 8, 8
        width, layers, heads = 64, 2, 4
        args.sections = "train_eager,generate"
        args.train_steps = 2
    start = time.perf_counter()

    import torch
    import transformers as tr

    from forge.nlp.generation import generate
    from forge.nlp.interop import convert_gpt2_state_dict, gpt_config_from_hf, load_converted
    from forge.nlp.models import GPT, LMCrossEntropy

    if not torch.cuda.is_available() and not args.smoke:
        print(json.dumps({"benchmark": "nlp_gpt2", "error": "needs a CUDA GPU"}))
        return 1
    dev = torch.device("cpu" if args.smoke else "cuda")

    def sync() -> None:
        if dev.type == "cuda":
            torch.cuda.synchronize()

    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    torch.manual_seed(0)
    cfg = tr.GPT2Config(
        vocab_size=VOCAB,
        n_positions=1024,
        n_embd=width,
        n_layer=layers,
        n_head=heads,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        bos_token_id=0,
        eos_token_id=0,
    )
    hf = _hf_model(cfg, tr)
    with torch.no_grad():
        hf.transformer.wte.weight.normal_(0.0, 0.5)
    sd = {k: v.clone() for k, v in hf.state_dict().items()}
    fcfg = gpt_config_from_hf(cfg.to_dict())

    def forge_model() -> torch.nn.Module:
        m = GPT(fcfg)
        load_converted(m, convert_gpt2_state_dict(sd), where="gpt2")
        return m

    n_params = sum(p.numel() for p in forge_model().parameters())
    result: dict[str, Any] = {
        "benchmark": "nlp_gpt2",
        "device": torch.cuda.get_device_name() if dev.type == "cuda" else "cpu (smoke)",
        "torch": torch.__version__,
        "transformers": tr.__version__,
        "params": n_params,
        "peak_flops": PEAK_BF16_FLOPS,
        "train": {},
        "generate": {},
        "skipped": [],
    }
    sections = set(args.sections.split(","))

    def over_budget(name: str) -> bool:
        if time.perf_counter() - start > args.budget_s:
            result["skipped"].append(name)
            return True
        return False

    def train_tokens_per_s(kind: str, compiled: bool) -> float:
        torch.manual_seed(0)
        model = (forge_model() if kind == "forge" else _hf_model(cfg, tr)).to(dev).train()
        if kind == "hf":
            model.load_state_dict(sd)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=True)
        loss_fn = LMCrossEntropy()
        x = torch.randint(0, VOCAB, (BATCH, SEQ), device=dev)
        y = torch.roll(x, -1, dims=1)

        def forward(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            if kind == "forge":
                out: torch.Tensor = loss_fn(model(x), y)
                return out
            logits = model(input_ids=x).logits
            out = loss_fn(logits, y)
            return out

        fwd = torch.compile(forward) if compiled else forward

        def step() -> None:
            with torch.autocast(dev.type, dtype=torch.bfloat16):
                loss = fwd(x, y)
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)

        for _ in range(3):
            step()
        sync()
        t = time.perf_counter()
        for _ in range(args.train_steps):
            step()
        sync()
        return args.train_steps * BATCH * SEQ / (time.perf_counter() - t)

    for section, compiled in (("train_eager", False), ("train_compiled", True)):
        if section not in sections:
            continue
        if section == "train_compiled" and "generate" in sections:
            continue  # run after generation (below), so the cheaper sections finish first
        for kind in ("forge", "hf"):
            if over_budget(f"{section}/{kind}"):
                continue
            tps = train_tokens_per_s(kind, compiled)
            if dev.type == "cuda":
                torch.cuda.empty_cache()
            result["train"][f"{kind}_{'compiled' if compiled else 'eager'}_tokens_per_s"] = round(tps)
            result["train"][f"{kind}_{'compiled' if compiled else 'eager'}_mfu"] = round(
                6 * n_params * tps / PEAK_BF16_FLOPS, 4
            )

    if "generate" in sections and not over_budget("generate/fp32_check"):
        forge_gen = forge_model().to(dev).eval()
        hf_gen = _hf_model(cfg, tr).to(dev).eval()
        hf_gen.load_state_dict(sd)
        hf_gen.generation_config.eos_token_id = None
        hf_gen.generation_config.pad_token_id = 0
        prompt = torch.randint(0, VOCAB, (2, PROMPT), device=dev, generator=torch.Generator(dev).manual_seed(1))

        def hf_generate(p: torch.Tensor, n: int) -> torch.Tensor:
            out: torch.Tensor = hf_gen.generate(
                p,
                attention_mask=torch.ones_like(p),
                max_new_tokens=n,
                min_new_tokens=n,
                do_sample=False,
                pad_token_id=0,
            )
            return out

        with torch.no_grad():
            ours = generate(forge_gen, prompt, max_new_tokens=64, cache="dynamic")
            theirs = hf_generate(prompt, 64)
        result["generate"]["fp32_identical_greedy_tokens"] = bool(torch.equal(ours, theirs))
        forge_gen = forge_gen.to(torch.bfloat16)
        hf_gen = hf_gen.to(torch.bfloat16)
        for batch in (1, 32) if not args.smoke else (1, 2):
            if over_budget(f"generate/batch{batch}"):
                continue
            prompt = torch.randint(
                0, VOCAB, (batch, PROMPT), device=dev, generator=torch.Generator(dev).manual_seed(batch)
            )
            timings: dict[str, float] = {}
            outs: dict[str, torch.Tensor] = {}
            runs = {
                "forge_static_cudagraphs": lambda p: generate(
                    forge_gen, p, max_new_tokens=NEW, cache="static", compile=not args.smoke
                ),
                "forge_eager": lambda p: generate(forge_gen, p, max_new_tokens=NEW, cache="dynamic"),
                "hf": lambda p: hf_generate(p, NEW),
            }
            for name, run in runs.items():
                run(prompt)  # warm-up: compilation and CUDA-graph recording happen here
                sync()
                t = time.perf_counter()
                outs[name] = run(prompt)
                sync()
                timings[name] = batch * NEW / (time.perf_counter() - t)
            ref = outs["hf"][:, PROMPT:]
            for name, tps in timings.items():
                result["generate"][f"batch{batch}_{name}_tokens_per_s"] = round(tps, 1)
            for name in ("forge_static_cudagraphs", "forge_eager"):
                same = (outs[name][:, PROMPT:] == ref).float().mean().item()
                result["generate"][f"batch{batch}_{name}_token_agreement_with_hf"] = round(same, 4)
            result["generate"][f"batch{batch}_static_vs_eager_identical"] = bool(
                torch.equal(outs["forge_static_cudagraphs"], outs["forge_eager"])
            )
        del forge_gen, hf_gen

    if "train_compiled" in sections:
        for kind in ("forge", "hf"):
            if over_budget(f"train_compiled/{kind}"):
                continue
            tps = train_tokens_per_s(kind, True)
            result["train"][f"{kind}_compiled_tokens_per_s"] = round(tps)
            result["train"][f"{kind}_compiled_mfu"] = round(6 * n_params * tps / PEAK_BF16_FLOPS, 4)

    tr_ = result["train"]
    for mode in ("eager", "compiled"):
        if f"forge_{mode}_tokens_per_s" in tr_ and f"hf_{mode}_tokens_per_s" in tr_:
            ratio = tr_[f"forge_{mode}_tokens_per_s"] / tr_[f"hf_{mode}_tokens_per_s"]
            tr_[f"{mode}_ratio_forge_over_hf"] = round(ratio, 3)
    result["wall_s"] = round(time.perf_counter() - start, 1)
    line = json.dumps(result)
    print(line)
    out_dir = os.environ.get("OUT")
    if out_dir:
        with open(os.path.join(out_dir, "nlp_gpt2.json"), "w", encoding="utf-8") as f:
            f.write(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
