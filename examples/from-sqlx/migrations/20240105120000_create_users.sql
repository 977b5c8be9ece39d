-- sqlx's simple layout: one file per migration, applied once, no down file.
CREATE TYPE plan AS ENUM ('free', 'pro');

CREATE TABLE users (
    id         BIGSERIAL PRIMARY KEY,
    email      TEXT NOT NULL UNIQUE,
    plan       plan NOT NULL DEFAULT 'free',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
