-- Depth below the surface of an underwater frame, from metadata.csv's `Depth` column (AUV, diver
-- sessions); NULL where the platform does not measure it. Darwin Core exports it as min/max depth.
ALTER TABLE frame ADD COLUMN depth DOUBLE;

-- Who collected the session in the field (the records' DataCollector contributors, "A | B"): Darwin
-- Core's recordedBy, as opposed to the annotators (identifiedBy).
ALTER TABLE deposit ADD COLUMN recorded_by VARCHAR;
