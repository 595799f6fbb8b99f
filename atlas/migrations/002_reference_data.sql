-- Reference data: labels, the multilabel model, its classes with thresholds, and the old-name renames
-- still used as column names in older sessions' score CSVs.
-- The predecessor's seed held two labels called "Turbinaria" (a coral and an alga); they become
-- Turbinaria_<code_gcrmn> so label names stay unique.

CREATE TABLE label_rename (
    old_label VARCHAR PRIMARY KEY,
    label VARCHAR NOT NULL,
    code_gcrmn VARCHAR,
    id_gbif BIGINT
);

INSERT INTO multilabel_label (name, creation_date, description, id_gbif, code_gcrmn)
SELECT
    CASE WHEN count(*) OVER (PARTITION BY name) > 1 THEN name || '_' || code_gcrmn ELSE name END,
    CAST(creation_date AS DATE), description, CAST(id_gbif AS BIGINT), code_gcrmn
FROM read_csv('{data_dir}/labels.csv', header = true, all_varchar = true)
ORDER BY CAST(creation_date AS DATE), name, code_gcrmn;

INSERT INTO multilabel_model (name, link, doi, creation_date)
SELECT name, link, doi, CAST(creation_date AS DATE)
FROM read_csv('{data_dir}/models.csv', header = true, all_varchar = true)
ORDER BY name;

INSERT INTO multilabel_class (model_id, label_id, name, threshold)
SELECT m.id, l.id, c.class_name, CAST(c.threshold AS DOUBLE)
FROM read_csv('{data_dir}/classes.csv', header = true, all_varchar = true) AS c
JOIN multilabel_model AS m ON m.name = c.model_name
JOIN multilabel_label AS l ON l.name = c.label_name
ORDER BY m.id, c.class_name;

INSERT INTO label_rename (old_label, label, code_gcrmn, id_gbif)
SELECT trim(old_label), trim(label), code_gcrmn,
       CAST(nullif(regexp_extract(trim(id_gbif), '(\d+)$', 1), '') AS BIGINT)
FROM read_csv('{data_dir}/label_renames.csv', header = true, all_varchar = true)
WHERE old_label IS NOT NULL;
