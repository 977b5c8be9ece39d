DROP TABLE fortune;
DROP TABLE world;
