"""Data-parallel training across processes started by torchrun (`runtime.nproc > 1`).

Every process holds the whole model and draws the same global batch from the same generator (the
sampler, the order and the in-memory augmentation are seeded by (seed, epoch)); each trains on its own
slice of that batch. A method's whole training step runs as one module wrapped in torch's
DistributedDataParallel (ltr.engine.train.TrainStep), which averages the gradients over the processes
in buckets while backward still runs. Slices are equal (the batch size must divide by the process
count), so the average of the processes' slice-mean losses is the loss of the whole batch, and one
step equals a single-process step on the whole batch up to BatchNorm, whose batch statistics are per
process (as in the papers' DataParallel and DDP runs without SyncBatchNorm). A loss that is not a
plain mean over its rows normalises by the whole batch through share_of_total, global_mean and
all_sum (weighted cross-entropy, OLTR's centroid loss).

DDP's forward_sync_buffers (formerly broadcast_buffers) is off: by default DDP copies rank 0's
buffers over every process's at each forward, so the BatchNorm running statistics (and TDE's
moving-average feature) kept at the end would be estimated from rank 0's slices alone. Here each
process keeps its own and floating-point buffers are averaged over the processes before every
validation (average_buffers), so all processes evaluate and keep the same model, whose statistics
come from every slice; prediction splits each batch over the processes and gathers the logits on
every one of them. Only rank 0 writes outputs, resume state and logs.
"""

import gc
import os
import subprocess
import sys

import torch
import torch.distributed as dist


def rank() -> int:
    return dist.get_rank() if dist.is_initialized() else 0


def world_size() -> int:
    return dist.get_world_size() if dist.is_initialized() else 1


def is_main() -> bool:
    return rank() == 0


def under_torchrun() -> bool:
    return "LOCAL_RANK" in os.environ and "WORLD_SIZE" in os.environ


def local_device(device: torch.device) -> torch.device:
    """This process's device: with CUDA, the GPU of its local rank."""
    if device.type == "cuda" and under_torchrun():
        index = int(os.environ["LOCAL_RANK"])
        torch.cuda.set_device(index)
        return torch.device("cuda", index)
    return device


def init(device: torch.device) -> None:
    """Join the process group torchrun set up (NCCL on CUDA, gloo on CPU); rank 0 alone prints."""
    if not under_torchrun() or dist.is_initialized():
        return
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    if not is_main():
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (for the life of the process)


def start(runtime) -> None:
    """A training stage's start: under runtime.nproc > 1 run this script again under torchrun and exit
    with its status; under torchrun (ours, or one started by hand across nodes) join its group."""
    from ltr.device import resolve_device

    if runtime.nproc > 1 and not under_torchrun():
        sys.exit(launch(runtime.nproc))
    init(resolve_device(runtime))


def shutdown() -> None:
    """Leave the process group once every process is done. DDP wrappers that are garbage but not yet
    collected hold the group and its worker threads; they are freed first, while the group exists,
    so that nothing of it is torn down during interpreter exit."""
    if dist.is_initialized():
        gc.collect()
        dist.barrier()
        dist.destroy_process_group()


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


def launch(nproc: int) -> int:
    """Run this script again under torchrun with nproc processes on this machine; its exit status."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}", *sys.argv]
    print(f"running under torchrun with {nproc} processes", flush=True)
    # torchrun's own report of a failed process is a page of traceback; the processes' one-line
    # errors are what the user needs, so its stderr is shown only when no process said why
    with subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True) as torchrun:
        try:
            _, stderr = torchrun.communicate()
        except BaseException:  # Ctrl-C or SIGTERM: torchrun stops its processes, which keep their state
            torchrun.terminate()
            torchrun.wait()
            raise
    errors = list(dict.fromkeys(line for line in stderr.splitlines() if line.startswith("error")))
    if torchrun.returncode == 0 or not errors:
        sys.stderr.write(stderr)
    else:
        sys.stderr.write("\n".join(errors) + "\n")
    return torchrun.returncode


def local_slice(n: int, r: int | None = None) -> slice:
    """Process r's rows (this process's by default) of a global batch of n rows: contiguous, sizes
    differing by at most one."""
    r, w = rank() if r is None else r, world_size()
    return slice(r * n // w, (r + 1) * n // w)


def all_sum(t: torch.Tensor) -> torch.Tensor:
    if dist.is_initialized():
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def all_max(t: torch.Tensor) -> torch.Tensor:
    if dist.is_initialized():
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return t


def data_parallel(module: torch.nn.Module, device: torch.device):
    """`module` in DistributedDataParallel under torchrun (itself in one process). Every method's step
    gives every trainable parameter a gradient (tests/test_distributed.py trains each in two
    processes), so find_unused_parameters, a graph traversal every step, stays off; a step that did
    not would stop at its next step with DDP's error naming the parameters."""
    if world_size() == 1:
        return module
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(
        module,
        device_ids=[device.index] if device.type == "cuda" else None,
        forward_sync_buffers=False,  # per-process statistics, averaged before validation (module docstring)
    )


def global_mean(t: torch.Tensor) -> torch.Tensor:
    """The mean over the processes of a value each computed on its slice (no gradient)."""
    if world_size() == 1:
        return t.detach()
    return all_sum(t.detach().clone()) / world_size()


def share_of_total(local_total: torch.Tensor) -> torch.Tensor | float:
    """local_total / (its mean over the processes), no gradient; exactly 1 in one process. A loss
    normalised by its slice's own total (a weighted mean over the slice) times this factor is
    normalised by the whole batch's total once DDP averages the processes' gradients."""
    if world_size() == 1:
        return 1.0
    return local_total.detach() / global_mean(local_total)


@torch.no_grad()
def average_buffers(model: torch.nn.Module) -> None:
    """Average floating-point buffers (BatchNorm running statistics, moving averages) over processes."""
    if world_size() == 1:
        return
    for b in model.buffers():
        if b.is_floating_point():
            dist.all_reduce(b, op=dist.ReduceOp.SUM)
            b /= world_size()


def concat_all(t: torch.Tensor) -> torch.Tensor:
    """The tensors of every process, equal in shape, concatenated in rank order (MoCo's keys)."""
    if world_size() == 1:
        return t
    parts = [torch.empty_like(t) for _ in range(world_size())]
    dist.all_gather(parts, t.contiguous())
    return torch.cat(parts)


def gather_batches(local: list[torch.Tensor], sizes: list[int]) -> torch.Tensor:
    """Reassemble per-batch outputs split by local_slice: `local` holds this process's rows of each
    batch, `sizes` the global batch sizes; every process gets all rows in their original order."""
    mine = torch.cat(local) if local else torch.empty(0)
    if world_size() == 1 or not sizes:  # no batch at all: nothing to gather, the same on every process
        return mine
    w = world_size()
    rows_of = [[len(range(n)[local_slice(n, r)]) for n in sizes] for r in range(w)]
    counts = [sum(k) for k in rows_of]
    padded = torch.zeros((max(counts), *mine.shape[1:]), dtype=mine.dtype, device=mine.device)
    padded[: len(mine)] = mine
    parts = [torch.empty_like(padded) for _ in range(w)]
    dist.all_gather(parts, padded)
    rows, offsets = [], [0] * w
    for b in range(len(sizes)):
        for r in range(w):
            k = rows_of[r][b]
            rows.append(parts[r][offsets[r] : offsets[r] + k])
            offsets[r] += k
    return torch.cat(rows)
