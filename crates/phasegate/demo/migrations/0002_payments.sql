CREATE TABLE payments (
    id INTEGER PRIMARY KEY,
    member_id INTEGER NOT NULL REFERENCES members (id),
    amount_cents INTEGER NOT NULL,
    event_id TEXT NOT NULL UNIQUE
);
