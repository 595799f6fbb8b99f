"""`python -m zenodo_atlas` is the `zenodo-atlas` command."""

from zenodo_atlas.cli import main

main()
