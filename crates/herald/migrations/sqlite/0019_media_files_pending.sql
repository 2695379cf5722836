-- Image files that Herald is writing, or has stopped holding, and has not yet settled: a row is
-- written before the file and deleted in the transaction that saves the image's post_media row
-- (or after the file is gone). The daily sweep deletes only files named here and left for an
-- hour, so it never touches a file this database does not know of.
CREATE TABLE media_files_pending (
    file_name  TEXT    PRIMARY KEY,
    since      INTEGER NOT NULL
) STRICT;
