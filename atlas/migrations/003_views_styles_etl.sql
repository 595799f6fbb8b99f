-- Views used by exports and queries, the QGIS layer styles carried into the GeoPackage, and the
-- ETL run log (harvest watermark, published version, content fingerprint).

CREATE VIEW v_frame AS
SELECT f.*, v.doi AS version_doi, v.label AS version_label, d.concept_recid, d.session_name,
       d.platform, d.session_date, d.country_code, d.place
FROM frame AS f
JOIN version AS v ON v.record_id = f.record_id
JOIN deposit AS d ON d.concept_recid = v.concept_recid;

CREATE VIEW v_deposit_linestring AS
SELECT l.concept_recid, d.session_name, d.platform, d.session_date, l.geom
FROM footprint_linestring AS l
JOIN deposit AS d ON d.concept_recid = l.concept_recid;

CREATE TABLE layer_styles (
    layer VARCHAR PRIMARY KEY,       -- GeoPackage layer the style applies to
    geometry_column VARCHAR NOT NULL,
    style_name VARCHAR NOT NULL,
    description VARCHAR,
    style_qml VARCHAR NOT NULL
);

INSERT INTO layer_styles
SELECT layer, 'geom', style_name, description, content
FROM (VALUES
        ('deposits', 'deposits by platform', 'Session footprints coloured by platform', 'deposits.qml'),
        ('linestrings', 'tracks by platform', 'Simplified session tracks coloured by platform', 'linestrings.qml'),
        ('frames', 'frames by GPS fix', 'Frames coloured by GPS fix quality (1 = RTK fixed)', 'frames.qml')
     ) AS s(layer, style_name, description, file_name)
JOIN read_text('{data_dir}/*.qml') AS t ON parse_filename(t.filename) = s.file_name;

CREATE SEQUENCE etl_run_id_seq START 1;

CREATE TABLE etl_runs (
    id INTEGER PRIMARY KEY DEFAULT nextval('etl_run_id_seq'),
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    status VARCHAR NOT NULL CHECK (status IN ('running', 'success', 'failed')),
    harvest_watermark TIMESTAMPTZ,   -- records published before this were harvested
    published_version VARCHAR,       -- Atlas version label published by this run, if any
    content_fingerprint VARCHAR,
    schema_version INTEGER NOT NULL,
    sessions_registered INTEGER NOT NULL DEFAULT 0,
    frames_added BIGINT NOT NULL DEFAULT 0,
    predictions_added BIGINT NOT NULL DEFAULT 0,
    notes VARCHAR
);
