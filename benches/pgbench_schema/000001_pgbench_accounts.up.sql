-- The table pgbench -i creates, typed for the pool bench (the bench does not migrate it).
CREATE TABLE pgbench_accounts (
    aid      integer NOT NULL PRIMARY KEY,
    bid      integer,
    abalance integer,
    filler   character(84)
);
