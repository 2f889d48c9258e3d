"""``gradient-explorer attack``: accuracy on held-out digits, clean and under attack."""

from __future__ import annotations

import argparse

from gradient_explorer.cli.common import add_command, add_json_arg, print_json
from gradient_explorer.cli.model_args import checked_int
from gradient_explorer.errors import UsageError
from gradient_explorer.optim.minibatch import check_seed

# Kept here, not imported from surfaces.classifiers/adversarial: `--help` stays fast and
# the models train only when the command runs. A test holds the two lists in step.
MODELS = ("logistic", "mlp")
METHODS = ("fgsm", "pgd", "random")
DATASETS = ("digits",)
TABLE_EPS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3)


def register(sub) -> None:
    parser = add_command(
        sub,
        "attack",
        run,
        help="adversarial steps on the input pixels: accuracy clean and under attack",
        description="Train a classifier on scikit-learn's 8x8 digits (pixels in [0, 1], seeded "
        "70/30 stratified split), then perturb each held-out image within eps per pixel and "
        "print the accuracy before and after. fgsm: one step eps*sign(dL/dx); pgd: --steps "
        "sign steps of size --alpha, each projected into the eps-box and [0, 1]; random: "
        "random signs of the same size (the control). Perturbed images are clipped to [0, 1].",
    )
    parser.add_argument("--dataset", default="digits", choices=DATASETS)
    parser.add_argument("--model", choices=MODELS, help="logistic or mlp")
    parser.add_argument("--method", choices=METHODS, help="fgsm, pgd or random")
    parser.add_argument("--eps", type=float, metavar="E", help="L-inf budget per pixel, >= 0")
    parser.add_argument("--steps", type=int, default=10, metavar="K", help="PGD steps (default 10)")
    parser.add_argument(
        "--alpha", type=float, metavar="A", help="PGD step size (default 2.5*eps/steps)"
    )
    parser.add_argument(
        "--seed", type=checked_int(check_seed), default=0, metavar="S", help="random signs' seed"
    )
    add_json_arg(parser)
    parser.add_argument(
        "--table",
        action="store_true",
        help="every method at eps 0, 0.05, ..., 0.3 for both models (or --model)",
    )


def _check(args: argparse.Namespace) -> None:
    from gradient_explorer.surfaces.adversarial import check_alpha, check_eps, check_steps

    if not args.table:
        if args.model is None or args.method is None or args.eps is None:
            raise UsageError("attack needs --model, --method and --eps (or --table)")
        check_eps(args.eps)
    check_steps(args.steps)
    if args.alpha is not None:
        check_alpha(args.alpha)


def evaluate(
    dataset: str,
    model: str,
    method: str,
    eps: float,
    steps: int = 10,
    alpha: float | None = None,
    seed: int = 0,
) -> dict:
    """Everything ``attack --json`` prints for one run."""
    from gradient_explorer.surfaces import adversarial, classifiers

    split = classifiers.digits_split()
    clf = classifiers.trained_classifier(model, dataset)
    x, y = split.x_test, split.y_test
    out = {
        "dataset": dataset,
        "model": model,
        "method": method,
        "eps": eps,
        "clean_accuracy": clf.accuracy(x, y),
        "attacked_accuracy": adversarial.attacked_accuracy(
            clf, x, y, method, eps, steps=steps, alpha=alpha, seed=seed
        ),
        "n_test": len(y),
    }
    if method == "pgd":
        out["steps"] = steps
        out["alpha"] = alpha if alpha is not None else adversarial.default_alpha(eps, steps)
    if method == "random":
        out["seed"] = seed
    return out


def table(args: argparse.Namespace) -> list[dict]:
    models = (args.model,) if args.model else MODELS
    methods = (args.method,) if args.method else METHODS
    return [
        evaluate(args.dataset, m, meth, eps, args.steps, args.alpha, args.seed)
        for m in models
        for eps in TABLE_EPS
        for meth in methods
    ]


def format_table(rows: list[dict]) -> str:
    methods = list(dict.fromkeys(r["method"] for r in rows))
    lines = [
        "accuracy on the held-out digits (n = {}); error = 1 - accuracy".format(rows[0]["n_test"]),
        "| model | eps | " + " | ".join(methods) + " |",
        "|---|---|" + "---|" * len(methods),
    ]
    for m in dict.fromkeys(r["model"] for r in rows):
        for eps in dict.fromkeys(r["eps"] for r in rows):
            acc = {
                r["method"]: r["attacked_accuracy"]
                for r in rows
                if (r["model"], r["eps"]) == (m, eps)
            }
            lines.append(
                f"| {m} | {eps:g} | " + " | ".join(f"{acc[k]:.3f}" for k in methods) + " |"
            )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    _check(args)
    if args.table:
        rows = table(args)
        if args.json:
            print_json(rows)
        else:
            print(format_table(rows))
        return 0
    result = evaluate(
        args.dataset, args.model, args.method, args.eps, args.steps, args.alpha, args.seed
    )
    if args.json:
        print_json(result)
        return 0
    extra = ""
    if args.method == "pgd":
        extra = f", {result['steps']} steps of {result['alpha']:.4g}"
    print(
        f"{args.model} on {args.dataset} (n_test = {result['n_test']}): "
        f"clean accuracy {result['clean_accuracy']:.4f}; "
        f"under {args.method} at eps {args.eps:g}{extra}: {result['attacked_accuracy']:.4f}"
    )
    return 0
