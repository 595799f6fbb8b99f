-- Depth below the surface of an underwater frame, from metadata.csv's `Depth` column (AUV, diver
-- sessions); NULL where the platform does not measure it. Darwin Core exports it as min/max depth.
ALTER TABLE frame ADD COLUMN depth DOUBLE;
