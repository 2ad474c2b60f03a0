"""The missing (method, seed) experiments of `make report`, run through DVC's queue by `jobs` workers.

Stage 1 depends on `seed` but not on `method`, so the methods of one seed share one stage-1 model:
the first experiment of a seed trains it and DVC's run-cache restores it in the others (`Stage
'stage1' is cached - skipping run`). So an experiment is queued only once it can reuse it: the first
of each seed at once, the others when a run of that seed has finished (ssp, whose stage 1 starts from
its own pre-trained backbone, at any time). softmax, which trains stage 1 alone, goes first; then the
methods that train, and the short post-hoc ones last, to fill the end. Every experiment that is ready
is queued at once, so that a worker finds the next one waiting: a worker stops 10 s after the queue
empties, and one that takes a task while stopping leaves it "Running" without running it (seen here
once in a few dozen tasks; `LOST_AFTER`), which is then killed and queued again.

The queue's workers run on after this process stops (Ctrl-C), and a new `make report` follows the
experiments still queued or running instead of queueing them again.
"""

import os
import subprocess
import time
from dataclasses import dataclass

from dvc.repo import Repo

from ltr.methods import spec
from ltr.report.runs import run_dvc

BASELINE = "softmax"
POLL_SECONDS = 5  # between two looks at the queue
LOST_AFTER = 180  # s "Running" without any output: its worker took it and stopped (or died)
# s a task may be absent from the queue's listing before it counts as removed: the listing of running
# tasks asks the workers, and on a loaded machine an answer can miss a look (seen here: two tasks that
# had just started, absent from one look, were taken as finished)
MISSING_AFTER = 120


def experiment_name(method: str, seed: int) -> str:
    return f"report-{method}-seed{seed}"


@dataclass(frozen=True)
class Task:
    method: str
    seed: int

    @property
    def name(self) -> str:
        return experiment_name(self.method, self.seed)


def shares_stage1(method: str) -> bool:
    return not spec(method).uses("pretrain")


def post_hoc(method: str) -> bool:
    """Trains nothing beyond stage 1: a short experiment (tens of seconds on the default data)."""
    return spec(method).trained_in == ("stage1",)


def run_order(tasks: list[Task], methods: list[str]) -> list[Task]:
    """softmax of every seed first, then the methods that train, then the post-hoc ones."""
    return sorted(tasks, key=lambda t: (t.method != BASELINE, post_hoc(t.method), methods.index(t.method), t.seed))


def next_ready(pending: list[Task], in_flight: list[Task], stage1_ready: set[int]) -> Task | None:
    """The first pending task that reuses every stage 1 it can: its seed's stage 1 is done, or no
    experiment in flight is training it."""
    for task in pending:
        if not shares_stage1(task.method) or task.seed in stage1_ready:
            return task
        if not any(shares_stage1(t.method) and t.seed == task.seed for t in in_flight):
            return task
    return None


def queue_tasks() -> dict[str, tuple[str, str]]:
    """What `dvc queue status` shows, as task id -> (experiment name, status), read in this process
    (a tenth of a second, where the command takes one of CPU)."""
    with Repo() as repo:
        return {task["rev"][:7]: (task["name"], task["status"]) for task in repo.experiments.celery_queue.status()}


def queue(task: Task, names_in_use: set[str]) -> str:
    """Queues the task's experiment; returns its task id (names repeat across reports, ids do not).
    An experiment of the same name (on other params, or failed) is removed first: DVC refuses a
    second one, and `exp run --force` would re-run every cached stage too."""
    if task.name in names_in_use:
        subprocess.run(["dvc", "exp", "remove", task.name], capture_output=True)  # if it fails, queueing says why
    before = set(queue_tasks())
    run_dvc("exp", "run", "--queue", "-S", f"method={task.method}", "-S", f"seed={task.seed}", "-n", task.name)
    (task_id,) = set(queue_tasks()) - before
    return task_id


def start_workers(jobs: int, threads: int) -> None:
    """Starts the workers that are not running (the command is a no-op for those that are). A
    worker stops 10 s after the queue empties; its experiments' stages run with `threads` threads."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    # not captured: the worker it spawns would hold the pipe open until it stops
    subprocess.run(
        ["dvc", "queue", "start", "-j", str(jobs)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        check=True,
    )


def log_of(task_id: str) -> str | None:
    """The experiment's output so far; None where it has none (it never started)."""
    result = subprocess.run(["dvc", "queue", "logs", task_id], capture_output=True, text=True)
    return result.stdout if result.returncode == 0 and result.stdout.strip() else None


def outcome(log: str | None, status: str) -> str:
    """What to print of a finished experiment's output: its evaluate line, or the end of a failure."""
    lines = (log or "").splitlines()
    if status == "Success":
        return "\n".join(line for line in lines if line.startswith("evaluate:"))
    return "\n".join(lines[-15:])


def run_tasks(
    tasks: list[Task], methods: list[str], jobs: int, threads: int, stage1_ready: set[int], names_in_use: set[str]
) -> dict[str, tuple[str, float]]:
    """Runs the tasks' experiments; returns name -> (final queue status, seconds from when it was
    seen running, or queued where it never was). stage1_ready: the seeds whose stage 1 is already in
    the cache; names_in_use: the experiment names of the commit."""
    stage1_ready = set(stage1_ready)
    pending = run_order(tasks, methods)
    by_name = {t.name: t for t in pending}
    in_flight: dict[str, Task] = {}  # task id -> task
    started, running, probed, lost, results = {}, set(), set(), set(), {}  # by task id; results by name
    missing_since: dict[str, float] = {}  # task id -> when it was first absent from the listing
    for task_id, (name, status) in queue_tasks().items():  # a report stopped earlier left them
        if name in by_name and status in ("Queued", "Running") and by_name[name] in pending:
            in_flight[task_id] = by_name[name]
            pending.remove(by_name[name])
            started[task_id] = time.monotonic()
            print(f"following {name} (task {task_id}, {status.lower()} from an earlier report)", flush=True)
    while pending or in_flight:
        statuses = queue_tasks()
        now = time.monotonic()
        for task_id, task in list(in_flight.items()):
            if task_id in statuses:
                missing_since.pop(task_id, None)
                status = statuses[task_id][1]
            elif now - missing_since.setdefault(task_id, now) < MISSING_AFTER:
                continue
            else:
                status = "Removed"
            if status == "Running" and task_id not in running:
                running.add(task_id)
                started[task_id] = now
                print(f"started {task.name} (`dvc queue logs --follow {task_id}` shows its output)", flush=True)
            elif status == "Running" and task_id not in probed and now - started[task_id] > LOST_AFTER:
                probed.add(task_id)
                if log_of(task_id) is None:
                    print(f"{task.name}: no output after {LOST_AFTER} s, lost by its worker: queued again", flush=True)
                    run_dvc("queue", "kill", task_id)
                    lost.add(task_id)
            elif status not in ("Queued", "Running"):
                del in_flight[task_id]
                if task_id in lost:
                    pending.insert(0, task)
                    names_in_use = names_in_use | {task.name}  # its failed entry
                    continue
                seconds = now - started[task_id]
                results[task.name] = (status, seconds)
                if status == "Success" and shares_stage1(task.method):
                    stage1_ready.add(task.seed)
                print(f"=== {task.name}: {status}, {seconds:.0f} s ({len(results)}/{len(tasks)}) ===", flush=True)
                if text := outcome(log_of(task_id), status):  # nothing where every stage was cached
                    print(text, flush=True)
        while task := next_ready(pending, list(in_flight.values()), stage1_ready):
            task_id = queue(task, names_in_use)
            in_flight[task_id] = task
            started[task_id] = time.monotonic()  # until it is seen running
            pending.remove(task)
            print(f"queued {task.name} (task {task_id})", flush=True)
        if any(statuses.get(i, ("", "Queued"))[1] == "Queued" for i in in_flight):
            start_workers(jobs, threads)
        if in_flight:
            time.sleep(POLL_SECONDS)
    return results
