"""Command line: train a net before class and open it in the app.

    python -m cnnviz train --data digits --arch lenet5 --epochs 3 --lr 0.003 --seed 0
    python -m cnnviz runs                  # what the app's Train page lists
    python -m cnnviz presets               # built-in datasets and architecture presets

`train` shows a progress bar on stderr, prints the run folder on stdout and saves it under
--out (default: $CNNVIZ_RUNS or ./runs). Errors are one line on stderr, exit code 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from cnnviz.numbers import percent

PROG = "python -m cnnviz"


class CliError(Exception):
    """A one-line refusal: printed as `cnnviz: error: ...`, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line instead of usage + message
        raise CliError(f"{message} (see {self.prog} --help)")


def _parser() -> argparse.ArgumentParser:
    from cnnviz.training import OPTIMIZERS, SCHEDULES, TrainConfig

    d = TrainConfig()
    p = _Parser(prog=PROG, description="cnnviz from the command line.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    t = sub.add_parser(
        "train",
        help="train a CNN and save a run the app lists",
        description="Train a CNN on the CPU and save it as a run (safetensors + JSON) that the "
        "app's Train page lists and opens.",
    )
    t.add_argument(
        "--data",
        default="digits",
        help="a built-in dataset name, a folder of MNIST IDX files or CIFAR-10 python batches, "
        "or a .zip of class folders (default: digits)",
    )
    t.add_argument(
        "--arch",
        default="lenet5",
        help="a preset name (see `presets`) or architecture text such as "
        "conv8k3-relu-max2-flat-fc (default: lenet5)",
    )
    preset = "a preset's own (see `presets`), else"
    t.add_argument("--epochs", type=int, default=None, help=f"default: {preset} {d.epochs}")
    t.add_argument(
        "--lr", type=float, default=None, help=f"learning rate (default: {preset} {d.lr:g})"
    )
    t.add_argument(
        "--optimizer", choices=OPTIMIZERS, default=None, help=f"default: {preset} {d.optimizer}"
    )
    t.add_argument("--schedule", choices=SCHEDULES, default=d.schedule)
    t.add_argument("--batch-size", type=int, default=None, help=f"default: {preset} {d.batch_size}")
    t.add_argument("--weight-decay", type=float, default=d.weight_decay, help="L2 penalty")
    t.add_argument("--dropout", type=float, default=None, help="override every dropout's p")
    t.add_argument("--augment", action="store_true", help="the dataset's own augmentation")
    t.add_argument("--seed", type=int, default=d.seed)
    t.add_argument("--n-train", type=int, default=None, help="train on this many images only")
    t.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    t.add_argument("--out", default=None, help="runs folder (default: $CNNVIZ_RUNS or ./runs)")
    t.add_argument("--name", default=None, help="a name for the run folder")
    t.add_argument("--quiet", action="store_true", help="no progress on stderr")
    r = sub.add_parser("runs", help="list saved runs, newest first")
    r.add_argument("--out", default=None, help="runs folder (default: $CNNVIZ_RUNS or ./runs)")
    sub.add_parser("presets", help="list built-in datasets and architecture presets")
    pt = sub.add_parser(
        "pretrain",
        help="make the built-in pre-trained nets now (the Explore page's)",
        description="Train the built-in nets the Explore page opens (seconds each, no download) "
        "and keep them in $CNNVIZ_CACHE or ~/.cache/cnnviz; nets already there are only checked. "
        "`make run` and `make class` run this first, so no visitor waits for them.",
    )
    pt.add_argument("--quiet", action="store_true", help="print nothing when all is well")
    return p


# ---- data and architecture from the command line


def load_data(arg: str):
    from cnnviz import data

    if arg in data.BUILTINS:
        return data.builtin(arg)
    path = Path(arg)
    if path.is_file() and path.suffix.lower() == ".zip":
        if path.stat().st_size > 512 * 2**20:
            raise CliError(f"{arg} is larger than 512 MB.")
        return data.from_zip(path.read_bytes())
    if path.is_dir():
        names = " ".join(p.name.lower() for p in path.iterdir())
        if "ubyte" in names or "idx" in names:
            return data.load_mnist(path)
        if "data_batch" in names or "batches.meta" in names:
            return data.load_cifar10(path)
        raise CliError(
            f"{arg} holds neither MNIST IDX files nor CIFAR-10 python batches; "
            "for your own images pass a .zip of class folders."
        )
    known = ", ".join(data.BUILTINS)
    raise CliError(
        f"--data {arg!r} is not a built-in dataset ({known}), a data folder or a .zip file."
    )


def arch_text(arg: str) -> str:
    from cnnviz import arch

    return arch.PRESETS.get(arg, arg)


# ---- progress on stderr


def _duration(s: float | None) -> str:
    if s is None or s != s:
        return "?"
    s = int(round(s))
    return f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"


def bar(p, loss: float | None, width: int = 24) -> str:
    filled = int(round(p.fraction * width))
    ips = f"{p.images_per_s:,.0f} img/s" if p.images_per_s else "- img/s"
    text = (
        f"epoch {p.epoch}/{p.epochs} [{'#' * filled}{'-' * (width - filled)}] "
        f"{p.fraction * 100:3.0f}%  batch {p.batch}/{p.batches}  {ips}  ETA {_duration(p.eta_s)}"
    )
    return text + (f"  loss {loss:.4f}" if loss is not None else "")


def epoch_line(h: dict, epochs: int) -> str:
    line = (
        f"epoch {h['epoch']}/{epochs}  train loss {h['train_loss']:.4f} "
        f"acc {h['train_acc'] * 100:.1f}%"
    )
    if h.get("val_acc") is not None:
        line += f"  val loss {h['val_loss']:.4f} acc {h['val_acc'] * 100:.1f}%"
    return line + f"  ({h['seconds']:.1f} s)"


def train_config(args):
    """The TrainConfig of `train`'s arguments: optimizer, lr, batch size and epochs not given
    are the preset's measured defaults (arch.PRESET_TRAINING) when --arch names a preset, else
    TrainConfig's."""
    from cnnviz import arch
    from cnnviz.training import TrainConfig

    base = {**TrainConfig().to_dict()}
    if args.arch in arch.PRESET_TRAINING:
        base.update(arch.preset_training(args.arch))
    given = {
        "optimizer": args.optimizer,
        "lr": args.lr,
        "batch_size": args.batch_size,
        "epochs": args.epochs,
    }
    base.update({k: v for k, v in given.items() if v is not None})
    return TrainConfig(
        optimizer=base["optimizer"],
        lr=base["lr"],
        schedule=args.schedule,
        batch_size=base["batch_size"],
        epochs=base["epochs"],
        weight_decay=args.weight_decay,
        dropout=args.dropout,
        augment=args.augment,
        seed=args.seed,
        n_train=args.n_train,
    ).validate()


def cmd_train(args) -> int:
    """Train in this process with the plain loop (`fit`, no worker, no gate, no snapshots)
    and save the run."""
    import time

    import torch

    from cnnviz import runs
    from cnnviz.training import Hooks, Run, evaluate_model, fit, train_data, with_test_metrics

    config = train_config(args)
    if args.threads is not None and not 1 <= args.threads <= 256:
        raise CliError(f"--threads must be between 1 and 256, not {args.threads}.")
    dataset = load_data(args.data)
    spec = arch_text(args.arch)
    threads = args.threads or os.cpu_count() or 1
    run = Run(spec, dataset.input_shape, dataset.classes, config)
    err = sys.stderr
    tty = err.isatty() and not args.quiet

    class Printer(Hooks):
        snapshots = False
        drawn = 0.0

        def batch_done(self, run: Run, record: dict) -> None:
            now = time.monotonic()
            if tty and now - self.drawn >= 0.1:
                err.write("\r\033[K" + bar(run.progress(), record["loss"]))
                err.flush()
                self.drawn = now

        def epoch_done(self, run: Run, record: dict) -> bool:
            if tty:
                err.write("\r\033[K")
            if not args.quiet:
                print(epoch_line(record, config.epochs), file=err)
            return False

    if not args.quiet:
        print(
            f"training {args.arch} on {dataset.name} ({len(dataset.y_train):,} training images, "
            f"{dataset.n_classes} classes), {threads} thread(s)",
            file=err,
        )
    torch.set_num_threads(threads)
    try:
        fit(run, train_data(dataset, config), Printer())
    except KeyboardInterrupt:
        if tty:
            err.write("\n")
        raise CliError("stopped by Ctrl-C; nothing was saved.") from None
    if tty:
        err.write("\r\033[K")
    report = evaluate_model(run.model, dataset) if len(dataset.y_test) else None
    meta = with_test_metrics(run.meta(dataset.name, "finished"), report)
    if args.name:
        meta["name"] = args.name
    meta["source"] = "command line"
    path = runs.save_run(args.out, run.model, meta)
    acc = f"test accuracy {percent(report.accuracy)} % " if report else ""
    if not args.quiet:
        print(f"{acc}after {run.step} steps; saved the run to:", file=err)
    print(path)
    return 0


def cmd_runs(args) -> int:
    from cnnviz import runs

    saved = runs.list_runs(args.out)
    if not saved:
        print(f"no runs in {Path(args.out) if args.out else runs.runs_dir()}", file=sys.stderr)
    for r in saved:
        acc = r.metrics.get("test_accuracy", r.metrics.get("val_acc"))
        acc_text = f"{acc * 100:5.1f}%" if isinstance(acc, (int, float)) else "   -  "
        print(f"{r.path}  {r.created}  {r.dataset:<12} {acc_text}  {r.arch}")
    return 0


def cmd_presets(args) -> int:
    from cnnviz import arch, data

    print("datasets (--data):")
    for name, text in data.BUILTINS.items():
        print(f"  {name:<14} {text}")
    print("architectures (--arch):")
    for name, text in arch.PRESETS.items():
        print(f"  {name:<14} {text}")
    return 0


def cmd_pretrain(args) -> int:
    from cnnviz.pretrained import PRETRAINED, cache_dir, pretrained

    for name in PRETRAINED:
        _, meta = pretrained(name)
        if not args.quiet:
            acc = meta.get("metrics", {}).get("test_accuracy")
            acc_text = f", test accuracy {percent(acc)} %" if isinstance(acc, float) else ""
            print(f"{name}: ready{acc_text}")
    if not args.quiet:
        print(f"kept in {cache_dir()}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help(sys.stderr)
            return 2
        commands = {
            "train": cmd_train,
            "runs": cmd_runs,
            "presets": cmd_presets,
            "pretrain": cmd_pretrain,
        }
        return commands[args.command](args)
    except (CliError, ValueError) as e:  # DataError, ArchError, TrainError, CheckpointError
        msg = " ".join(str(e).split()) or type(e).__name__
        print(f"cnnviz: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
