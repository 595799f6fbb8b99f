"""`python -m zenodo_atlas` is the `zenodo-atlas` command."""

from zenodo_atlas.launch import main

main()
