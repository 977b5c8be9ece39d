ALTER TABLE users DROP CONSTRAINT users_display_name_length;
ALTER TABLE users DROP COLUMN display_name;
