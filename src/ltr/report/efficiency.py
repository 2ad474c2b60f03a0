"""How much of the machine `make report` used: the images its runs trained, at the stage-1 model's
ceiling speed (SGD steps on ready tensors, no data work, as bench/cpu_settings.py measures it), set
against the wall time. 100% would be every core training at the ceiling all the time; the rest is
process start-up, imports, DVC, data loading, evaluation and the cores left idle.

    python -m ltr.report.efficiency [--arch resnet8] [--threads 1] [--steps 20]   # the ceiling, images/s
"""

import argparse
import json
import os
import subprocess
import sys
import time

from ltr.methods import spec
from ltr.report.scheduling import BASELINE, shares_stage1
from ltr.runner import pin_cpu_isa

BATCH = 128


def model_steps_per_s(arch: str, threads: int, steps: int, channels_last: bool = True, compiled: bool = False) -> float:
    """Images/s of SGD steps of `arch` (100 classes, 32-px images, batch 128) on one ready batch, in
    this process, after 5 untimed steps."""
    import torch
    import torch.nn.functional as F

    from ltr.models import create_model

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    layout = torch.channels_last if channels_last else torch.contiguous_format
    model = create_model(arch, 100).to(memory_format=layout)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    x = torch.randn(BATCH, 3, 32, 32).contiguous(memory_format=layout)
    y = torch.randint(0, 100, (BATCH,))
    step_model = torch.compile(model) if compiled else model
    for i in range(5 + steps):
        if i == 5:
            start = time.perf_counter()
        loss = F.cross_entropy(step_model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return steps * BATCH / (time.perf_counter() - start)


def ceiling(arch: str = "resnet8", threads: int = 1, steps: int = 10) -> float:
    """The ceiling in a fresh process, with the CPU kernels a stage runs with (ltr.runner)."""
    args = [sys.executable, "-m", "ltr.report.efficiency", "--arch", arch, "--threads", str(threads)]
    out = subprocess.run([*args, "--steps", str(steps)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["images_per_s"]


def trained_images(trained: dict[tuple[str, int], float], stage1: dict[int, float]) -> float:
    """The images that the runs `trained` ((method, seed) -> images behind the final model) trained
    themselves. A method whose final model starts from its seed's shared stage 1 restored that from
    the cache: its count less stage 1's (seed -> softmax's run, which trained it)."""
    total = 0.0
    for (method, seed), count in trained.items():
        if method != BASELINE and shares_stage1(method) and "stage1" in spec(method).trained_in:
            count -= stage1[seed]
        total += count
    return total


def efficiency_text(images: float, images_per_s: float, jobs: int, threads: int, wall_s: float) -> str:
    """One sentence: the images trained, their time at the ceiling on every core, the wall time."""
    cores = jobs * threads
    ideal_s = images / (images_per_s * jobs)
    return (
        f"{images / 1e6:.2f} M images trained; at the ResNet-8 ceiling of {images_per_s:.0f} images/s a "
        f"process ({threads} thread{'s' if threads > 1 else ''}, measured as the report started), {jobs} at "
        f"a time on {cores} core{'s' if cores > 1 else ''}, that is {ideal_s / 60:.1f} min against "
        f"{wall_s / 60:.1f} min of wall time: {100 * ideal_s / wall_s:.0f}% efficiency"
    )


def report_efficiency(runs: dict, trained: list, images_per_s: float, jobs: int, threads: int, wall_s: float) -> str:
    """efficiency_text for the (method, seed) runs `trained` of this report, read from their metrics
    (runs: ltr.report.runs.method_seed_runs; every seed's softmax among them)."""
    from ltr.report.runs import run_metrics  # DVC's API: not for bench/cpu_settings.py, which imports this module

    def images(key):
        return run_metrics(runs[key].rev, key[0])["cost.train_mimages"] * 1e6

    stage1 = {seed: images((BASELINE, seed)) for _, seed in trained}
    return efficiency_text(trained_images({k: images(k) for k in trained}, stage1), images_per_s, jobs, threads, wall_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", default="resnet8")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    pin_cpu_isa()  # before torch loads, as in a stage
    rate = model_steps_per_s(args.arch, args.threads, args.steps)
    print(json.dumps({"images_per_s": rate, "cpu_count": os.cpu_count()}))


if __name__ == "__main__":
    main()
