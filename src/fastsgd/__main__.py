"""Command line of fastsgd: ``python -m fastsgd <command> [options]``.

Commands:
  demo   fit fastsgd and scikit-learn side by side on generated data
"""

import argparse
import sys


def main(argv=None):
    from . import __version__, _demo

    parser = argparse.ArgumentParser(
        prog="python -m fastsgd",
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
    args = parser.parse_args(argv)
    if args.command == "demo":
        _demo._check_args(demo, args)
        return _demo.run(args)
    parser.print_help(sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
