"""Versioned schema migrations, NNN_<name>.sql, applied in order by atlas.migrate."""
