"""Names of the AI outputs a processed session carries (fixed by the inference pipeline)."""

from __future__ import annotations

JACQUES_MODEL_NAME = "jacques-v0.1.0_model-20240513_v20.0"
MULTILABEL_AUTHOR = "lombardata"
MULTILABEL_MODEL_NAME = "DinoVdeau-large-2024_04_03-with_data_aug_batch-size32_epochs150_freeze"

# The multilabel model's 31 classes under the column names older score CSVs use (before the
# label renames); the Atlas maps them to current labels, the generator writes them as sessions do.
OLD_CLASS_COLUMNS: tuple[str, ...] = (
    "Acropore_branched", "Acropore_digitised", "Acropore_sub_massive", "Acropore_tabular",
    "Algae_assembly", "Algae_drawn_up", "Algae_limestone", "Algae_sodding", "Atra/Leucospilota",
    "Bleached_coral", "Blurred", "Dead_coral", "Fish", "Homo_sapiens", "Human_object",
    "Living_coral", "Millepore", "No_acropore_encrusting", "No_acropore_foliaceous",
    "No_acropore_massive", "No_acropore_solitary", "No_acropore_sub_massive", "Rock", "Sand",
    "Rubble", "Sea_cucumber", "Sea_urchins", "Sponge", "Syringodium_isoetifolium",
    "Thalassodendron_ciliatum", "Useless",
)


def jacques_csv_name(session: str) -> str:
    return f"{session}_{JACQUES_MODEL_NAME}.csv"


def multilabel_csv_name(session: str, *, scores: bool) -> str:
    suffix = "_scores" if scores else ""
    return f"{session}_{MULTILABEL_AUTHOR}_{MULTILABEL_MODEL_NAME}{suffix}.csv"
