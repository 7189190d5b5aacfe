"""``python -m recipes NAME [options]`` runs a recipe; ``python -m recipes --list`` lists them."""
import sys

from cookbook import cli, registry


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m recipes NAME [options]   (python -m recipes NAME --help for the options)\n"
              "       python -m recipes --list\n\nrecipes:\n" + registry.describe())
        return 0
    if argv[0] == "--list":
        print(registry.describe())
        return 0
    try:
        recipe = registry.get(argv[0])
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return cli.main(recipe, argv[1:], prog=f"python -m recipes {argv[0]}")


if __name__ == "__main__":
    sys.exit(main())
