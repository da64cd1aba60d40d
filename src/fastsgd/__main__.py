"""Command line of fastsgd: ``fastsgd <command> [options]`` or
``python -m fastsgd <command> [options]``.

Commands:
  demo       fit fastsgd and scikit-learn side by side on generated data
  fit        fit a model to data files and save it
  predict    write a saved model's predictions for data files
  evaluate   print a saved model's metrics on labelled data files
"""

import argparse
import sys


def main(argv=None):
    from . import __version__, _cli, _demo

    parser = argparse.ArgumentParser(
        prog="fastsgd",
        description="fastsgd: drop-in SGDClassifier/SGDRegressor with a C/OpenMP engine.",
    )
    parser.add_argument("--version", action="version", version="fastsgd " + __version__)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="fit fastsgd and scikit-learn side by side on generated data",
        description=_demo.__doc__.split("\n\n")[1].replace("\n", " "),
    )
    _demo.add_arguments(demo)
    runners = {}
    for name, add, run, text in (
        ("fit", _cli.add_fit_arguments, _cli.run_fit, "fit a model to data files and save it"),
        ("predict", _cli.add_predict_arguments, _cli.run_predict, "a saved model's predictions"),
        ("evaluate", _cli.add_evaluate_arguments, _cli.run_evaluate, "a saved model's metrics"),
    ):
        add(commands.add_parser(name, help=text, description=text))
        runners[name] = run
    args = parser.parse_args(argv)
    if args.command == "demo":
        _demo._check_args(demo, args)
        return _demo.run(args)
    if args.command in runners:
        try:
            return runners[args.command](args)
        except (ValueError, TypeError, ImportError, OSError) as e:
            # bad input or a missing optional package: one line, no traceback
            print("fastsgd %s: error: %s" % (args.command, e), file=sys.stderr)
            return 2
    parser.print_help(sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
