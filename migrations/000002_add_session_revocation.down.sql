DROP INDEX sessions_user_id_live_idx;
ALTER TABLE sessions DROP COLUMN revoked_at;
