DROP TABLE members;
DROP TABLE orgs;
DROP TABLE login_attempts;
DROP TABLE sessions;
DROP TRIGGER users_set_updated_at ON users;
DROP TABLE users;
DROP FUNCTION set_updated_at();
DROP TYPE role;
DROP TYPE sysrole;
