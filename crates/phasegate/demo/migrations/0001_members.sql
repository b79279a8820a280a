-- The membership service's schema, as a migrations folder would hold it (the sample
-- service creates the same tables in code): the demo's `migrations` gate records these.
CREATE TABLE members (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL DEFAULT 'member'
);
