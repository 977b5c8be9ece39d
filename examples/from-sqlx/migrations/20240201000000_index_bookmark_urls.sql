-- no-transaction
CREATE INDEX CONCURRENTLY bookmarks_url_idx ON bookmarks (url);
