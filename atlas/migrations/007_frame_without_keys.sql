-- Frames lose their primary key and their UNIQUE (record_id, file_name), as predictions did in 005.
-- Ids come from frame_id_seq, and registration inserts only the frames its version does not hold
-- yet (an anti-join on record_id and file_name). The two keys' indexes grow with the Atlas and every
-- checkpoint after a registration paid for them: 1,000 frames appended to 1M took 13 ms to
-- checkpoint with the keys, 3 ms without (and 3 ms into an empty table either way).
CREATE TABLE frame_unkeyed (
    id BIGINT NOT NULL DEFAULT nextval('frame_id_seq'),
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
    depth DOUBLE
);
INSERT INTO frame_unkeyed
SELECT id, record_id, original_file_name, file_name, relative_file_path, geom, latitude, longitude, altitude,
       pitch, roll, track, datetime_utc, fix, depth
FROM frame ORDER BY id;
DROP TABLE frame;
ALTER TABLE frame_unkeyed RENAME TO frame;
