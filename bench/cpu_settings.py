"""The stage-1 model's training ceiling (ResNet-8 SGD steps at batch 128 on ready tensors, no data work;
ltr.report.efficiency, the figure `make report` measures its efficiency against)
under the CPU settings a stage can run with, each as a ratio to the stages' own: torch's back-ends held
at AVX2 (ltr.runner.pin_cpu_isa), runtime.threads 1, channels_last, eager.

    python bench/cpu_settings.py [--steps 30] [--rounds 3] [--no-compile]

Each setting runs in its own process (the instruction-set variables take effect only before torch
loads); rounds alternate the settings, so a slow spell of a shared machine hits all of them, and each
figure is the median of the rounds. `compile` is torch.compile (inductor) of the model; its compile
time is not in the figure.
"""

import argparse
import json
import os
import subprocess
import sys

import numpy as np

from ltr.report.efficiency import model_steps_per_s
from ltr.runner import CPU_ISA_PINS, _has_avx2

STAGES_SETTING = "pinned, 1 thread"
# name -> (pin the ISA, threads, channels_last, torch.compile)
SETTINGS = {
    STAGES_SETTING: (True, 1, True, False),
    "native ISA, 1 thread": (False, 1, True, False),
    "pinned, all cores": (True, os.cpu_count() or 1, True, False),
    "native ISA, all cores": (False, os.cpu_count() or 1, True, False),
    "pinned, 1 thread, contiguous (not channels_last)": (True, 1, False, False),
    "pinned, 1 thread, torch.compile": (True, 1, True, True),
}


def ceiling(threads: int, channels_last: bool, compiled: bool, steps: int) -> dict:
    """Images/s of SGD steps on one ready batch, in this process."""
    import torch

    rate = model_steps_per_s("resnet8", threads, steps, channels_last, compiled)
    return {"images_per_s": rate, "capability": torch.backends.cpu.get_cpu_capability()}


def measure(name: str, steps: int) -> dict:
    pinned, threads, channels_last, compiled = SETTINGS[name]
    env = {k: v for k, v in os.environ.items() if k not in CPU_ISA_PINS and k != "OMP_NUM_THREADS"}
    if pinned:
        env.update(CPU_ISA_PINS)
    args = [sys.executable, __file__, "--one", json.dumps([threads, channels_last, compiled, steps])]
    out = subprocess.run(args, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-compile", action="store_true", help="leave out torch.compile (its compile is slow)")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(ceiling(*json.loads(args.one))))
        return
    names = [n for n in SETTINGS if not (args.no_compile and SETTINGS[n][3])]
    if not _has_avx2():
        print("this CPU has no AVX2 (or is not x86-64 Linux): stages run unpinned; nothing to compare")
        names = [n for n in names if not SETTINGS[n][0]]
    rates, capability = {n: [] for n in names}, {}
    for _ in range(args.rounds):
        for name in names:
            result = measure(name, args.steps)
            rates[name].append(result["images_per_s"])
            capability[name] = result["capability"]
    base = float(np.median(rates[STAGES_SETTING])) if STAGES_SETTING in rates else None
    print(f"ResNet-8 SGD steps, batch 128, ready tensors; {os.cpu_count()} CPU cores; median of {args.rounds}")
    print("| setting | torch's kernels | images/s | ratio to the stages' setting |")
    print("|---|---|---|---|")
    for name in names:
        rate = float(np.median(rates[name]))
        ratio = f"{rate / base:.2f}" if base else "-"
        print(f"| {name} | {capability[name]} | {rate:.0f} | {ratio} |")
    print(json.dumps({n: round(float(np.median(r)), 1) for n, r in rates.items()}))


if __name__ == "__main__":
    main()
