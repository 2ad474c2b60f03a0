"""Class-balanced experts (Sharma et al., "Long-Tailed Recognition Using Class-Balanced Experts",
GCPR 2020).

Three experts fine-tune the stage-1 model (the "generalist"), each on one class subset by training
count (many n >= 100, medium 20 <= n < 100, few n < 20: the paper's thresholds, params here) plus an
extra "others" class. The others class holds a sample, drawn once with a fixed seed, of
(subset images / open_ratio) training images of the other classes. `train_stages` chooses what
trains (-1 all, 0 the classifier only, k the last k residual stages and the classifier); each expert
stops early on its val subset (with others at 1:1). In the logits stage the three experts are fused
by the joint calibration (ltr.models.calibration), trained on the val logits only.

Not repeated from the original: logits come from every split with the test transform (its
gen_logits could not produce val logits and tripled the test set), labels are never remapped
across files, and the learning rate and batch size are what the params say.
"""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ltr.data.split_list import SplitList
from ltr.engine.context import Context, MethodOutput
from ltr.methods.experts.params import SPEC, CalibrationParams, ExpertsParams
from ltr.models import Classifier, count_parameters, create_backbone, train_last_stages
from ltr.models.calibration import JointCalibration


def subset_classes(train_counts, subset: str, many_threshold: int, few_threshold: int) -> list[int]:
    counts = np.asarray(train_counts)
    member = {
        "many": counts >= many_threshold,
        "medium": (counts >= few_threshold) & (counts < many_threshold),
        "few": counts < few_threshold,
    }[subset]
    return np.flatnonzero(member).tolist()


def expert_split(split: SplitList, classes: list[int], open_ratio: float, rng: np.random.RandomState) -> SplitList:
    """The subset's images with labels 0..K-1 (class order) plus len(subset) // open_ratio images of
    the other classes, drawn without replacement, with label K ("others")."""
    position = {c: i for i, c in enumerate(classes)}
    inside = np.flatnonzero(np.isin(split.labels, classes))
    outside = np.flatnonzero(~np.isin(split.labels, classes) & (split.labels >= 0))
    n_others = min(int(len(inside) // open_ratio), len(outside))
    others = np.sort(rng.choice(outside, n_others, replace=False))
    labels = [position[int(y)] for y in split.labels[inside]] + [len(classes)] * n_others
    paths = [split.paths[i] for i in np.concatenate([inside, others]).astype(int)]
    return SplitList(split.name, paths, np.asarray(labels, dtype=np.int64))


def build_expert(arch: str, num_classes: int, train_stages: int, backbone_state: dict | None = None) -> Classifier:
    """The stage-1 architecture with a K + 1-way classifier (the last output: "others")."""
    backbone = create_backbone(arch)
    if backbone_state is not None:
        backbone.load_state_dict(backbone_state)
    backbone = train_last_stages(backbone, train_stages)
    return Classifier(backbone, nn.Linear(backbone.out_dim, num_classes + 1))


def train_expert(ctx: Context, p: ExpertsParams, subset: str) -> None:
    e = getattr(p, subset)
    classes = subset_classes(ctx.data.meta["train_counts"], subset, p.many_threshold, p.few_threshold)
    info = {"subset": subset, "classes": classes, "open_ratio": e.open_ratio, "train_stages": e.train_stages}
    ctx.models.write("expert.json", info)  # what the logits stage rebuilds the expert from
    if not classes:
        ctx.log("no class falls in this subset; no expert to train")
        ctx.models.write("train_summary.json", {"train_images": 0, "history": []})
        return
    rng = np.random.RandomState(ctx.seed)  # the others sample is drawn once and fixed for the run
    train = expert_split(ctx.data.split("train"), classes, e.open_ratio, rng)
    val = expert_split(ctx.data.split("val"), classes, 1.0, rng)
    stage1 = ctx.models.load("stage1")
    torch.manual_seed(ctx.seed)
    model = ctx.models.to_device(
        build_expert(ctx.models.arch, len(classes), e.train_stages, stage1.backbone.state_dict())
    )
    ctx.models.train(model, e, train_split=train, val_split=val, patience=e.patience, starts_from=("stage1/model.pt",))


def fit_calibration(
    calibration: JointCalibration, val_logits: list[torch.Tensor], labels: torch.Tensor, p: CalibrationParams, seed: int
) -> dict:
    """SGD on the NLL of the fused distribution over the val logits; keeps the epoch with the best
    accuracy on them, as the original does."""
    optimizer = torch.optim.SGD(calibration.parameters(), lr=p.lr, momentum=0.9, weight_decay=p.weight_decay)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, p.step_size, 0.1)
    gen = torch.Generator().manual_seed(seed)
    best = {"accuracy": -1.0, "epoch": 0, "state": None}
    for epoch in range(p.epochs):
        for idx in torch.randperm(len(labels), generator=gen).split(p.batch_size):
            loss = F.nll_loss(calibration([z[idx] for z in val_logits]), labels[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        scheduler.step()
        with torch.no_grad():
            accuracy = (calibration(val_logits).argmax(1) == labels).float().mean().item()
        if accuracy > best["accuracy"]:
            best = {
                "accuracy": accuracy,
                "epoch": epoch + 1,
                "state": {k: v.clone() for k, v in calibration.state_dict().items()},
            }
        elif epoch + 1 - best["epoch"] >= p.patience:
            break
    calibration.load_state_dict(best["state"])
    return {"calibration_epoch": best["epoch"], "calibration_val_top1": round(100 * best["accuracy"], 3)}


def logits(ctx: Context, p: ExpertsParams) -> MethodOutput:
    class_lists, ratios, per_expert, trained = [], [], [], []
    for stage in (s for s in SPEC.trained_in if s.startswith("experts/")):
        info = ctx.models.read(stage, "expert.json")
        if not info["classes"]:
            continue
        arch = ctx.models.trained(stage).arch
        model = ctx.models.load(stage, build_expert(arch, len(info["classes"]), info["train_stages"]))
        per_expert.append(ctx.data.predict_splits(model))
        class_lists.append(info["classes"])
        ratios.append(info["open_ratio"])
        trained.append(stage)
    calibration = JointCalibration(class_lists, ratios, ctx.data.num_classes)
    val_labels = torch.from_numpy(ctx.data.split("val").labels)
    torch.manual_seed(ctx.seed)
    info = fit_calibration(
        calibration, [torch.from_numpy(z["val"]) for z in per_expert], val_labels, p.logits.calibration, ctx.seed
    )
    with torch.no_grad():
        fused = {s: calibration([torch.from_numpy(z[s]) for z in per_expert]).numpy() for s in per_expert[0]}
    cost = ctx.models.cost(*trained)  # every expert sees the image; the calibration's few parameters are added
    cost["params"] += count_parameters(calibration)
    return MethodOutput(fused, cost, info)
