"""``python -m prodguard`` runs the CLI."""

from prodguard.cli import main

if __name__ == "__main__":
    main()
