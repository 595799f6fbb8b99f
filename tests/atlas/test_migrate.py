from pathlib import Path

import duckdb
import pytest

from zenodo_atlas.atlas import migrate as migrate_module
from zenodo_atlas.atlas.connection import connect_atlas
from zenodo_atlas.atlas.errors import MigrationError
from zenodo_atlas.atlas.migrate import Migration, available_migrations, latest_version, migrate, schema_version


def _schema(con: duckdb.DuckDBPyConnection) -> dict[str, list]:
    """Everything that defines the schema and its seeded content, comparable across databases."""
    return {
        "tables": con.execute(
            "SELECT table_name, sql FROM duckdb_tables() WHERE database_name = current_database() ORDER BY 1"
        ).fetchall(),
        "views": con.execute(
            "SELECT view_name, sql FROM duckdb_views() WHERE NOT internal AND database_name = current_database()"
            " ORDER BY 1"
        ).fetchall(),
        "indexes": con.execute(
            "SELECT index_name, table_name, sql FROM duckdb_indexes() WHERE database_name = current_database()"
            " ORDER BY 1"
        ).fetchall(),
        "sequences": con.execute(
            "SELECT sequence_name FROM duckdb_sequences() WHERE database_name = current_database() ORDER BY 1"
        ).fetchall(),
        "labels": con.execute("SELECT * FROM multilabel_label ORDER BY id").fetchall(),
        "classes": con.execute("SELECT * FROM multilabel_class ORDER BY id").fetchall(),
        "renames": con.execute("SELECT * FROM label_rename ORDER BY old_label").fetchall(),
        "styles": con.execute("SELECT * FROM layer_styles ORDER BY layer").fetchall(),
        "migrations": con.execute("SELECT version, name, checksum FROM schema_migrations ORDER BY 1").fetchall(),
    }


def test_at_least_three_numbered_migrations() -> None:
    migrations = available_migrations()
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
    assert len(migrations) >= 3


def test_empty_database_reaches_latest_in_one_call(tmp_path: Path) -> None:
    con = connect_atlas(tmp_path / "a.duckdb")
    assert schema_version(con) == 0
    assert migrate(con) == list(range(1, latest_version() + 1))
    assert schema_version(con) == latest_version()
    assert migrate(con) == []
    con.close()


@pytest.mark.parametrize("start", range(0, 4))
def test_every_earlier_version_migrates_to_the_fresh_schema(tmp_path: Path, start: int) -> None:
    fresh = connect_atlas(tmp_path / "fresh.duckdb")
    migrate(fresh)
    old = connect_atlas(tmp_path / "old.duckdb")
    migrate(old, target=start)
    assert schema_version(old) == start
    old.close()
    old = connect_atlas(tmp_path / "old.duckdb")  # reopened, as a later run would
    assert migrate(old) == list(range(start + 1, latest_version() + 1))
    assert _schema(old) == _schema(fresh)
    old.close()
    fresh.close()


def test_reference_data_is_seeded(tmp_path: Path) -> None:
    con = connect_atlas(tmp_path / "a.duckdb")
    migrate(con)
    assert con.execute("SELECT count(*) FROM multilabel_label").fetchone()[0] == 168
    assert con.execute("SELECT count(*) FROM multilabel_class").fetchone()[0] == 31
    assert con.execute("SELECT name, link FROM multilabel_model").fetchall()[0][0] == "DinoVdeau"
    assert con.execute("SELECT label FROM label_rename WHERE old_label = 'Acropore_branched'").fetchone() == (
        "Acropora_Branching",
    )
    turbinaria = con.execute("SELECT name FROM multilabel_label WHERE name LIKE 'Turbinaria%' ORDER BY 1").fetchall()
    assert turbinaria == [("Turbinaria_AD",), ("Turbinaria_CE",)]
    threshold = con.execute("SELECT threshold FROM multilabel_class WHERE name = 'Acropora_Branching'").fetchone()[0]
    assert threshold == pytest.approx(0.351)
    assert con.execute("SELECT count(*) FROM layer_styles WHERE style_qml LIKE '%renderer-v2%'").fetchone()[0] == 3
    con.close()


def test_unknown_target_and_backwards_are_refused(tmp_path: Path) -> None:
    con = connect_atlas(tmp_path / "a.duckdb")
    with pytest.raises(MigrationError, match="Unknown schema version"):
        migrate(con, target=latest_version() + 1)
    migrate(con)
    with pytest.raises(MigrationError, match="only go forward"):
        migrate(con, target=1)
    con.close()


def test_database_newer_than_the_code_is_refused(tmp_path: Path) -> None:
    con = connect_atlas(tmp_path / "a.duckdb")
    migrate(con)
    con.execute("INSERT INTO schema_migrations (version, name, checksum) VALUES (99, 'future', 'x')")
    with pytest.raises(MigrationError, match="upgrade zenodo-atlas"):
        migrate(con)
    con.close()


def test_a_failing_migration_is_rolled_back_entirely(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = available_migrations()
    broken = Migration(len(real) + 1, "broken", "CREATE TABLE half_done (x INTEGER); SELECT * FROM no_such_table;")
    monkeypatch.setattr(migrate_module, "available_migrations", lambda: [*real, broken])
    con = connect_atlas(tmp_path / "a.duckdb")
    with pytest.raises(MigrationError, match=f"{len(real) + 1:03d}_broken failed and was rolled back"):
        migrate(con)
    assert schema_version(con) == len(real)
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'half_done'").fetchone()[0] == 0
    con.close()
