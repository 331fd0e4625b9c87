"""One file per group of subcommands; each exposes `register(subparsers, common)`."""
