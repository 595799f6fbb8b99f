-- Predictions lose their primary key. Registration already keeps one score per (frame, class,
-- version) with an anti-join before it inserts; the key's 20M-entry index (at 1M frames) only made
-- each registration pay for inserting into it and for writing it at the checkpoint.
CREATE TABLE multilabel_prediction_unkeyed (
    frame_id BIGINT NOT NULL,        -- -> frame
    class_id INTEGER NOT NULL,       -- -> multilabel_class
    record_id BIGINT NOT NULL,       -- -> version holding PROCESSED_DATA_IA.zip
    score DOUBLE NOT NULL
);
INSERT INTO multilabel_prediction_unkeyed SELECT frame_id, class_id, record_id, score FROM multilabel_prediction;
DROP TABLE multilabel_prediction;
ALTER TABLE multilabel_prediction_unkeyed RENAME TO multilabel_prediction;
