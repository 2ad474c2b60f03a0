"""`make gpu-check`: what this code does on a CUDA machine, in one command (under 10 minutes on one GPU).

Parts, each a group of rows of one table (printed, and written to results/gpu_check.md):

- pipeline: `dvc repro` of the committed params.yaml with runtime.device cuda (bf16 autocast,
  channels_last) in a temporary copy of the project, so the workspace's outputs stay as they are; its
  metrics beside the committed ones (metrics/metrics.json, made on a CPU) and its training speed;
- stage1: training images/s of the stage-1 model on its in-memory pipeline, eager and under
  torch.compile (the time of the first, compiling step apart);
- lists: ResNet-50 training images/s on 224-px image-list batches of a generated JPEG tree, decoded by
  PIL in DataLoader workers and by torchvision on the GPU (runtime.decode);
- ddp: stage-1 training under torchrun in 1 and in 2 processes (NCCL), when the machine has 2 GPUs:
  images/s and whether the processes end with the same weights.

Without CUDA it prints one line and exits 0. `--device cpu --tiny` runs every part on the CPU at toy
sizes (2 processes over gloo), which is how the test suite checks the parts; `make gpu-check` never
does: its figures are a GPU's or none.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import torch
import yaml
from benchlib import forever, image_list_batches, make_jpeg_tree, timed_steps

ROOT = Path(__file__).resolve().parents[1]
METRICS = [
    "closed.top1",
    "closed.many",
    "closed.medium",
    "closed.few",
    "closed.ece",
    "open.f_measure",
    "agnostic.forward50",
    "agnostic.backward50",
]


@dataclass(frozen=True)
class Sizes:
    stage1_images: int  # synthetic training images per class (100 classes)
    stage1_steps: int
    compile_backend: str
    jpegs: int
    list_size: int
    list_batch: int
    list_steps: int


FULL = Sizes(
    stage1_images=40,
    stage1_steps=50,
    compile_backend="inductor",
    jpegs=1024,
    list_size=224,
    list_batch=128,
    list_steps=20,
)
# the CPU rehearsal of the tests: dynamo's "eager" backend traces as torch.compile does without
# spending a minute of inductor's code generation on 2 cores
TINY = Sizes(
    stage1_images=2, stage1_steps=2, compile_backend="eager", jpegs=16, list_size=64, list_batch=4, list_steps=2
)


def stage_env(project: Path, tmp: Path) -> dict:
    """The stages of the copy import its own src, keep resume states in tmp and find this dvc."""
    return {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(project / "src"),
        "LTR_RESUME_DIR": str(tmp / "resume"),
        "DVC_NO_ANALYTICS": "1",
    }


def run(cmd: list[str], cwd: Path, env: dict) -> str:
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    if result.returncode != 0:  # the failing stage's last line says why, DVC's own line only that it failed
        lines = [line for line in (result.stderr + result.stdout).splitlines() if line.strip()]
        why = [line for line in lines if not line.startswith("ERROR:")] or lines or [""]
        raise RuntimeError(f"{' '.join(cmd)} exited with {result.returncode}: {why[-1].strip()}")
    return result.stdout


def dotted(metrics: dict, key: str):
    section, name = key.split(".")
    return metrics[section][name]


def pipeline(args, device: torch.device, sizes: Sizes) -> list[tuple]:
    from ltr.workspace import copy_pipeline

    with tempfile.TemporaryDirectory(prefix="ltr-gpu-check-") as tmp:
        work = Path(tmp) / "project"
        copy_pipeline(args.project, work)
        params = yaml.safe_load((work / "params.yaml").read_text())
        params["runtime"]["device"] = device.type
        (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        env = stage_env(work, Path(tmp))
        run(["git", "init", "-q"], work, env)  # dvclive logs against a commit
        run(["git", "add", "-A"], work, env)
        run(
            ["git", "-c", "user.name=gpu-check", "-c", "user.email=gpu-check@ltr.invalid", "commit", "-qm", "copy"],
            work,
            env,
        )
        start = time.perf_counter()
        run(["dvc", "repro"], work, env)
        seconds = time.perf_counter() - start
        new = json.loads((work / "metrics" / "details.json").read_text())
        live = json.loads((work / "live" / "stage1" / "metrics.json").read_text())
    old = json.loads((Path(args.project) / "metrics" / "details.json").read_text())
    amp = "bf16 autocast, " if params["runtime"]["amp"] and device.type == "cuda" else ""
    what = f"`dvc repro` of params.yaml on {device.type} ({amp}channels_last), wall time"
    rows = [("pipeline", what, f"{seconds:.0f} s")]
    for key in METRICS:
        a, b = dotted(old, key), dotted(new, key)
        gap = "" if a is None or b is None else f" ({b - a:+.2f})"
        rows.append(("pipeline", f"{key}: committed / this run", f"{a} / {b}{gap}"))
    rows.append(("pipeline", "stage-1 training images/s (live/stage1)", f"{live['train_img_per_s']:.0f}"))
    return rows


def stage1_setup(project: Path, device: torch.device, sizes: Sizes):
    """The stage-1 model, its SGD, its in-memory training batches on `device` as params.yaml sets them,
    and the same images as validation batches."""
    from ltr.config import load_config
    from ltr.data.loader import TensorBatches
    from ltr.data.prepared import channel_stats
    from ltr.data.synthetic import SyntheticSpec, generate
    from ltr.models import create_model

    cfg = load_config(project / "params.yaml")
    data = generate(SyntheticSpec(), {"train": sizes.stage1_images}, open_per_class=0, seed=0)
    images, labels = data["images"], data["labels"]
    mean, std = channel_stats(images.numpy())
    images, labels = images.permute(0, 3, 1, 2).to(device), labels.to(device)
    common = {"batch_size": cfg.stage1.batch_size, "mean": mean, "std": std}
    train = TensorBatches(images, labels, augment=cfg.stage1.augment, shuffle=True, drop_last=True, **common)
    torch.manual_seed(0)
    model = create_model(cfg.model.arch, 100).to(device, memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=cfg.stage1.lr, momentum=cfg.stage1.momentum)
    return cfg, model, optimizer, train, TensorBatches(images, labels, **common)


def stage1(args, device: torch.device, sizes: Sizes) -> list[tuple]:
    cfg, model, optimizer, batches, _ = stage1_setup(Path(args.project), device, sizes)
    what = f"{cfg.model.arch}, batch {cfg.stage1.batch_size}"
    eager = timed_steps(forever(batches.epoch), sizes.stage1_steps, 5, model, optimizer, cfg.runtime.amp)
    model.backbone.compile(backend=sizes.compile_backend)  # as runtime.compile does
    start = time.perf_counter()
    timed_steps(forever(batches.epoch), 1, 0, model, optimizer, cfg.runtime.amp)
    first = time.perf_counter() - start
    compiled = timed_steps(forever(batches.epoch), sizes.stage1_steps, 5, model, optimizer, cfg.runtime.amp)
    return [
        ("stage1", f"training images/s, {what}, eager", f"{eager:.0f}"),
        ("stage1", f"training images/s, {what}, torch.compile ({sizes.compile_backend})", f"{compiled:.0f}"),
        ("stage1", "torch.compile: the first step, compiling", f"{first:.1f} s"),
    ]


def lists(args, device: torch.device, sizes: Sizes) -> list[tuple]:
    from ltr.models import create_model

    workers = min(8, os.cpu_count() or 1)
    rows = []
    with tempfile.TemporaryDirectory(prefix="ltr-gpu-check-") as tmp:
        paths, labels = make_jpeg_tree(Path(tmp), sizes.jpegs, short=sizes.list_size * 8 // 7)
        for decode in ("pil", "device"):
            torch.manual_seed(0)
            model = create_model("resnet50", 10).to(device, memory_format=torch.channels_last)
            optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
            common = {"device": device, "workers": workers, "batch": sizes.list_batch, "size": sizes.list_size}
            source = image_list_batches(Path(tmp), paths, labels, decode=decode, **common)
            rate = timed_steps(forever(source.epoch), sizes.list_steps, 2, model, optimizer, amp=True)
            how = {"pil": f"PIL in {workers} DataLoader workers", "device": f"decode_jpeg on {device.type}"}[decode]
            what = f"ResNet-50 training images/s, {sizes.list_size} px, batch {sizes.list_batch}, {how}"
            rows.append(("lists", what, f"{rate:.0f}"))
    return rows


def ddp(args, device: torch.device, sizes: Sizes) -> list[tuple]:
    if device.type == "cuda" and torch.cuda.device_count() < 2:
        return [("ddp", "2 processes over NCCL", f"not run: {torch.cuda.device_count()} GPU")]
    backend = "NCCL" if device.type == "cuda" else "gloo"
    rows = []
    with tempfile.TemporaryDirectory(prefix="ltr-gpu-check-") as tmp:
        for nproc in (1, 2):  # one process: the plain train loop, without torchrun or DDP
            out = Path(tmp) / f"n{nproc}.json"
            torchrun = ["-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}"] if nproc > 1 else []
            cmd = [sys.executable, *torchrun, __file__, "--ddp-worker", str(out), "--device", device.type]
            cmd += ["--project", str(args.project)]
            run(cmd + (["--tiny"] if args.tiny else []), Path(tmp), stage_env(Path(args.project), Path(tmp)))
            result = json.loads(out.read_text())
            what = f"stage-1 training images/s, {'2 processes (' + backend + ')' if nproc > 1 else '1 process'}"
            rows.append(("ddp", what, f"{result['img_per_s']:.0f}"))
        rows.append(("ddp", "largest weight difference between the 2 processes", f"{result['max_gap']:.1e}"))
    return rows


def ddp_worker(args, device: torch.device, sizes: Sizes) -> None:
    """Stage-1 training through the train loop (under torchrun, in DDP), one epoch of stage1_steps
    steps; rank 0 writes images/s and the largest difference between the processes' weights."""
    from ltr import processes
    from ltr.config import TrainConfig
    from ltr.engine.checkpoint import ResumeState
    from ltr.engine.train import Log, Runtime, fit

    processes.init(device)
    device = processes.local_device(device)
    cfg, model, optimizer, batches, val = stage1_setup(Path(args.project), device, sizes)
    train = TrainConfig(epochs=1, batch_size=cfg.stage1.batch_size, lr=cfg.stage1.lr, warmup_epochs=0)
    out = Path(args.ddp_worker)
    resume = ResumeState(out.with_suffix(".resume"))  # every process reads the state rank 0 writes
    runtime = Runtime(device, amp=cfg.runtime.amp, max_steps=sizes.stage1_steps)
    result = fit(model, optimizer, batches, val, train, runtime=runtime, log=Log("ddp", out.with_suffix(".live")),
                 resume=resume)  # fmt: skip
    flat = torch.cat([p.detach().float().flatten() for p in model.parameters()])
    weights = processes.concat_all(flat[None])
    if processes.is_main():
        gap = (weights - weights[0]).abs().max().item()
        out.write_text(json.dumps({"img_per_s": result.images / result.seconds, "max_gap": gap}))
    processes.shutdown()


PARTS = {"pipeline": pipeline, "stage1": stage1, "lists": lists, "ddp": ddp}


def render(rows: list[tuple], device: torch.device) -> str:
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU (a rehearsal, not a GPU measurement)"
    head = f"`make gpu-check` on {name}, torch {torch.__version__}, {time.strftime('%Y-%m-%d')}\n\n"
    lines = ["| part | what | value |", "|---|---|---|", *(f"| {p} | {w} | {v} |" for p, w, v in rows)]
    return head + "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    parser.add_argument("--tiny", action="store_true", help="toy sizes: the test suite's CPU rehearsal")
    parser.add_argument("--project", type=Path, default=ROOT, help="the project whose pipeline and metrics to use")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "gpu_check.md")
    parser.add_argument("--parts", nargs="+", default=list(PARTS), choices=list(PARTS))
    parser.add_argument("--ddp-worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.project = args.project.resolve()
    device, sizes = torch.device(args.device), TINY if args.tiny else FULL
    if args.ddp_worker:
        ddp_worker(args, device, sizes)
        return 0
    if device.type == "cuda" and not torch.cuda.is_available():
        print("gpu-check: no CUDA device on this machine (torch.cuda.is_available() is False); nothing was run")
        return 0
    rows, failed = [], False
    for part in args.parts:
        print(f"gpu-check: {part} ...", flush=True)
        try:
            rows += PARTS[part](args, device, sizes)
        except Exception as e:  # one part's failure is a row; the others still run
            traceback.print_exc()
            rows.append((part, "failed", " ".join(str(e).split())[:200].replace("|", "/")))
            failed = True
    table = render(rows, device)
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(table)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
