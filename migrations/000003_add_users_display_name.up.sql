-- A name to show in the UI; usernames stay the stable handle.
ALTER TABLE users ADD COLUMN display_name text;
ALTER TABLE users ADD CONSTRAINT users_display_name_length
    CHECK (char_length(display_name) BETWEEN 1 AND 100);
