-- The TechEmpower Framework Benchmarks' two tables (its rules: 10,000 worlds, a fortune table).
CREATE TABLE world (
    id           integer PRIMARY KEY,
    randomnumber integer NOT NULL DEFAULT 0
);

CREATE TABLE fortune (
    id      integer PRIMARY KEY,
    message varchar(2048) NOT NULL
);
