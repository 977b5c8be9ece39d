-- Sessions can be revoked (logout, "sign out everywhere") without deleting the row, so the
-- audit of who was signed in from where survives.
ALTER TABLE sessions ADD COLUMN revoked_at timestamptz;

-- Authentication looks up live sessions of a user; revoked ones are the long tail.
CREATE INDEX sessions_user_id_live_idx ON sessions (user_id) WHERE revoked_at IS NULL;
