-- Base tables of the Atlas.
-- Geometries are EPSG:4326 with x = longitude, y = latitude.
-- No FOREIGN KEY clauses: DuckDB forbids updating a referenced row's variable-size columns
-- (a deposit's footprint changes on re-registration), so the loader keeps references sound
-- (every insert joins its parents) and atlas.integrity.orphan_counts() checks them.

CREATE SEQUENCE frame_id_seq START 1;
CREATE SEQUENCE label_id_seq START 1;
CREATE SEQUENCE model_id_seq START 1;
CREATE SEQUENCE class_id_seq START 1;
CREATE SEQUENCE annotation_session_id_seq START 1;

CREATE TABLE deposit (
    concept_recid VARCHAR PRIMARY KEY,
    session_name VARCHAR NOT NULL UNIQUE,
    concept_doi VARCHAR,
    footprint GEOMETRY,              -- POLYGON: convex hull of the session's valid GPS points
    have_raw BOOLEAN NOT NULL DEFAULT false,
    have_processed BOOLEAN NOT NULL DEFAULT false,
    session_date DATE,               -- derived from the session name
    country_code VARCHAR,            -- ISO 3166 alpha-3, from the name
    country VARCHAR,
    place VARCHAR,
    platform VARCHAR
);

CREATE TABLE version (
    record_id BIGINT PRIMARY KEY,
    concept_recid VARCHAR NOT NULL,  -- -> deposit
    doi VARCHAR,
    label VARCHAR NOT NULL,          -- RAW_DATA, PROCESSED_DATA, ...
    publication_date DATE
);
CREATE INDEX version_concept_idx ON version (concept_recid);

CREATE TABLE version_file (
    record_id BIGINT NOT NULL,       -- -> version
    file_key VARCHAR NOT NULL,
    md5 VARCHAR NOT NULL,
    PRIMARY KEY (record_id, file_key)
);

CREATE TABLE footprint_linestring (
    concept_recid VARCHAR PRIMARY KEY,  -- -> deposit; one simplified track per deposit
    geom GEOMETRY NOT NULL              -- LINESTRING
);

CREATE TABLE frame (
    id BIGINT PRIMARY KEY DEFAULT nextval('frame_id_seq'),
    record_id BIGINT NOT NULL,       -- -> version holding METADATA.zip
    original_file_name VARCHAR,
    file_name VARCHAR NOT NULL,
    relative_file_path VARCHAR,
    geom GEOMETRY,                   -- POINT, NULL without a valid fix
    latitude DOUBLE,
    longitude DOUBLE,
    altitude DOUBLE,
    pitch DOUBLE,
    roll DOUBLE,
    track DOUBLE,
    datetime_utc TIMESTAMP,
    fix UTINYINT,
    UNIQUE (record_id, file_name)
);

CREATE TABLE multilabel_label (
    id INTEGER PRIMARY KEY DEFAULT nextval('label_id_seq'),
    name VARCHAR NOT NULL UNIQUE,
    creation_date DATE NOT NULL,
    description VARCHAR,
    id_gbif BIGINT,
    code_gcrmn VARCHAR
);

CREATE TABLE multilabel_model (
    id INTEGER PRIMARY KEY DEFAULT nextval('model_id_seq'),
    name VARCHAR NOT NULL UNIQUE,
    link VARCHAR NOT NULL,
    doi VARCHAR,
    creation_date DATE NOT NULL
);

CREATE TABLE multilabel_class (
    id INTEGER PRIMARY KEY DEFAULT nextval('class_id_seq'),
    model_id INTEGER NOT NULL,       -- -> multilabel_model
    label_id INTEGER NOT NULL,       -- -> multilabel_label
    name VARCHAR NOT NULL,
    threshold DOUBLE NOT NULL,
    UNIQUE (model_id, name)
);

CREATE TABLE multilabel_prediction (
    frame_id BIGINT NOT NULL,        -- -> frame
    class_id INTEGER NOT NULL,       -- -> multilabel_class
    record_id BIGINT NOT NULL,       -- -> version holding PROCESSED_DATA_IA.zip
    score DOUBLE NOT NULL,
    PRIMARY KEY (frame_id, class_id, record_id)
);

CREATE TABLE annotation_session (
    id INTEGER PRIMARY KEY DEFAULT nextval('annotation_session_id_seq'),
    annotation_date TIMESTAMP NOT NULL,
    author VARCHAR NOT NULL,
    dataset VARCHAR NOT NULL,
    file_name VARCHAR NOT NULL,
    UNIQUE (annotation_date, author, dataset)
);

CREATE TABLE annotation (
    session_id INTEGER NOT NULL,     -- -> annotation_session
    frame_id BIGINT NOT NULL,        -- -> frame
    label_id INTEGER NOT NULL,       -- -> multilabel_label
    value TINYINT NOT NULL CHECK (value IN (-1, 0, 1)),
    PRIMARY KEY (frame_id, label_id, session_id)
);

CREATE INDEX frame_geom_rtree ON frame USING RTREE (geom);
CREATE INDEX footprint_linestring_rtree ON footprint_linestring USING RTREE (geom);
