"""Calibrate the synthetic data set: how much does the long tail hurt softmax, for a similarity and
difficulty? Trains the stage-1 recipe on the LT cut (and, with --balanced N, on N images per class)
and prints top-1, many/medium/few, and few-shot after post-hoc logit adjustment (tau = 1), which
shows that the tail is learnable from what the model saw. Runs in memory, outside DVC.

    python bench/calibrate_synthetic.py --difficulty 0.4 --similarity 0.5 --epochs 30 --balanced 108
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from probe_invariances import probe_top1  # bench/, beside this script

from ltr.config import TrainConfig
from ltr.data.loader import TensorBatches
from ltr.data.long_tail import long_tailed_indices
from ltr.data.prepared import channel_stats
from ltr.data.synthetic import SyntheticSpec, generate
from ltr.engine.checkpoint import ResumeState
from ltr.engine.train import Log, Runtime, fit, predict
from ltr.metrics.accuracy import group_accuracy, per_class_accuracy
from ltr.metrics.groups import shot_groups
from ltr.models import create_model


def run(images, labels, test_images, test_labels, val_images, val_labels, args, train_counts):
    mean, std = channel_stats(images)
    torch.manual_seed(args.seed)
    model = create_model(args.arch, 100).to(memory_format=torch.channels_last)
    cfg = TrainConfig(epochs=args.epochs)
    t = lambda a: torch.from_numpy(a)  # noqa: E731
    common = dict(mean=mean, std=std)
    train = TensorBatches(
        t(images).permute(0, 3, 1, 2),
        t(labels),
        batch_size=cfg.batch_size,
        augment="crop_flip",
        shuffle=True,
        drop_last=True,
        seed=args.seed,
        **common,
    )
    val = TensorBatches(t(val_images).permute(0, 3, 1, 2), t(val_labels), batch_size=512, **common)
    test = TensorBatches(t(test_images).permute(0, 3, 1, 2), t(test_labels), batch_size=512, **common)
    optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    with tempfile.TemporaryDirectory() as tmp:
        fit(
            model,
            optimizer,
            train,
            val,
            cfg,
            runtime=Runtime(torch.device("cpu")),
            log=Log("calibrate", Path(tmp) / "live"),
            resume=ResumeState(Path(tmp) / "r"),
        )
    logits, _ = predict(model, test, torch.device("cpu"), False)
    groups = shot_groups(train_counts)
    out = {}
    if args.probe:
        top1 = probe_top1(model, t(test_images).permute(0, 3, 1, 2), t(test_labels), mean, std)
        out["probe_of_clean"] = {k: round(100 * v / top1["clean"]) for k, v in top1.items()}
    for name, z in {
        "softmax": logits,
        "logit_adjusted": logits - torch.log(torch.tensor(train_counts / train_counts.sum())),
    }.items():
        preds = z.argmax(1).numpy()
        acc = per_class_accuracy(preds, test_labels, 100)
        g = group_accuracy(acc, groups)
        out[name] = {
            "top1": round(100 * float((preds == test_labels).mean()), 2),
            **{k: round(100 * v, 2) for k, v in g.items()},
        }
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--similarity", type=float, default=0.5)
    p.add_argument("--difficulty", type=float, default=0.4)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--arch", default="resnet8")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--balanced", type=int, default=0, help="also train on this many images per class")
    p.add_argument("--skip-lt", action="store_true", help="only the balanced run")
    p.add_argument("--probe", action="store_true", help="top-1 under greyscale, blur, strong views (%% of clean)")
    args = p.parse_args()
    start = time.time()
    spec = SyntheticSpec(similarity=args.similarity, difficulty=args.difficulty)
    data = generate(spec, {"train": 500, "test": 100, "val": 20}, open_per_class=0, seed=0)
    images, labels, pools = data["images"].numpy(), data["labels"].numpy(), np.asarray(data["pool"])
    tr, te, va = pools == "train", pools == "test", pools == "val"
    keep = long_tailed_indices(labels[tr], 100, 100, 0)
    lt_images, lt_labels = images[tr][keep], labels[tr][keep]
    counts = np.bincount(lt_labels, minlength=100)
    result = {"similarity": args.similarity, "difficulty": args.difficulty, "epochs": args.epochs, "arch": args.arch}
    if not args.skip_lt:
        result["lt"] = run(lt_images, lt_labels, images[te], labels[te], images[va], labels[va], args, counts)
    if args.balanced:
        keep = long_tailed_indices(labels[tr], 100, 1, 0)
        per = np.concatenate([np.flatnonzero(labels[tr][keep] == c)[: args.balanced] for c in range(100)])
        bal_images, bal_labels = images[tr][keep][per], labels[tr][keep][per]
        bal = run(bal_images, bal_labels, images[te], labels[te], images[va], labels[va], args, counts)
        result["balanced"] = bal["softmax"]
    result["seconds"] = round(time.time() - start)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
