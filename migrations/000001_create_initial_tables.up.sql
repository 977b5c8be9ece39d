-- The application's initial schema: accounts, sessions, a login audit trail, organisations and
-- their members. gen_random_uuid() is built into PostgreSQL 13+, no extension needed.

CREATE TYPE sysrole AS ENUM ('admin', 'user');
CREATE TYPE role AS ENUM ('owner', 'admin', 'member');

-- Keeps updated_at honest without relying on every writer to set it.
CREATE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

CREATE TABLE users (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    username      text        NOT NULL,
    email         text        NOT NULL,
    password_hash text        NOT NULL,
    system_role   sysrole     NOT NULL DEFAULT 'user',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_username_key UNIQUE (username)
);
-- Case-insensitive uniqueness: 'Ann@Example.com' and 'ann@example.com' are one address.
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

CREATE TRIGGER users_set_updated_at
    BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE sessions (
    id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- Only a hash of the bearer token is stored; the token itself never reaches the database.
    token_hash   bytea       NOT NULL,
    expires_at   timestamptz NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    ip           inet,
    user_agent   text,
    CONSTRAINT sessions_token_hash_key UNIQUE (token_hash),
    CONSTRAINT sessions_expires_after_created CHECK (expires_at > created_at)
);
-- Foreign keys are not indexed automatically: "sessions of user X" and the ON DELETE CASCADE
-- from users both need this one.
CREATE INDEX sessions_user_id_idx ON sessions (user_id);
-- Sweeping expired sessions.
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

-- A security audit trail. user_id deliberately has no foreign key: an audit record is never
-- rewritten, so the id of a deleted account survives here, as does the identifier that was tried
-- (a username or email, or whatever an attacker typed). Unknown identifiers have user_id NULL.
CREATE TABLE login_attempts (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      uuid,
    identifier   text        NOT NULL,
    success      boolean     NOT NULL,
    ip           inet,
    user_agent   text,
    attempted_at timestamptz NOT NULL DEFAULT now()
);
-- "Recent attempts for this account", "for this identifier" and "from this address": the three
-- questions rate limiting and incident review ask.
CREATE INDEX login_attempts_user_id_attempted_at_idx
    ON login_attempts (user_id, attempted_at DESC) WHERE user_id IS NOT NULL;
CREATE INDEX login_attempts_identifier_attempted_at_idx
    ON login_attempts (lower(identifier), attempted_at DESC);
CREATE INDEX login_attempts_ip_attempted_at_idx
    ON login_attempts (ip, attempted_at DESC);

CREATE TABLE orgs (
    id         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    name       text        NOT NULL,
    slug       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT orgs_slug_key UNIQUE (slug),
    CONSTRAINT orgs_slug_format CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$')
);

CREATE TABLE members (
    org_id      uuid        NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id     uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    member_role role        NOT NULL DEFAULT 'member',
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, user_id)
);
-- The primary key serves "members of org X"; this serves "orgs of user X" and the cascade.
CREATE INDEX members_user_id_idx ON members (user_id);
