"""The typed functions behind the guard commands of the CLI (prodguard logs, prodguard usage)."""
