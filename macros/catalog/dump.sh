#!/usr/bin/env bash
# Dumps the parts of PostgreSQL's own catalog that `sql!` types statements with: built-in types
# (category, preferred, element/array), casts, operators and functions. Run against a fresh
# cluster of the supported server version; the output is committed and embedded in the macros
# crate (`macros/src/sql/catalog.rs` reads it):
#
#   macros/catalog/dump.sh "host=/tmp port=5432 user=postgres" > macros/catalog/pg15.tsv
#
# One line per entry, tab-separated, the first field naming the table:
#   T oid name category preferred typtype elem array
#   C source target context
#   O name left right result strict
#   P name kind retset variadic strict volatile result ndefaults argtypes argnames outs
#   D oid name base                           (information_schema's domains)
#   R schema relation column type notnull     (pg_catalog's and information_schema's tables and views)
#   E extension <a T, C, O or P line>          (what a contrib extension adds, dumped from a scratch
#                                               database where each is created; its functions taking
#                                               `internal` are left out: no statement calls them)
# (argnames: comma-separated, empty for an unnamed argument; only for functions without OUT
# arguments, whose names would not line up with argtypes; outs: the OUT/TABLE columns of a
# function that has them, as comma-separated type:name)
set -euo pipefail
conn="${1:?usage: dump.sh CONNINFO}"
q() { psql "$conn" -X -A -t -F $'\t' -c "$1"; }
# The contrib extensions applications create for what they call (types, functions, operators);
# the ones only for indexes (btree_gin, btree_gist) and the server's own tooling are not here.
extensions=(citext cube earthdistance fuzzystrmatch hstore intarray isn lo ltree pg_trgm pgcrypto seg tablefunc
  unaccent uuid-ossp)
scratch=taulu_catalog_extensions
echo "# PostgreSQL $(q 'SHOW server_version') catalog for taulu sql! (macros/catalog/dump.sh)"
q "SELECT 'T', oid, typname, typcategory, typispreferred::int, typtype, typelem, typarray
   FROM pg_type WHERE oid < 16384 AND typnamespace = 'pg_catalog'::regnamespace ORDER BY oid"
q "SELECT 'C', castsource, casttarget, castcontext FROM pg_cast WHERE castsource < 16384 AND casttarget < 16384
   ORDER BY castsource, casttarget"
q "SELECT 'O', o.oprname, o.oprleft, o.oprright, o.oprresult, coalesce(p.proisstrict, true)::int
   FROM pg_operator o LEFT JOIN pg_proc p ON p.oid = o.oprcode
   WHERE o.oid < 16384 ORDER BY o.oprname, o.oprleft, o.oprright"
q "SELECT 'P', proname, prokind, proretset::int, provariadic, proisstrict::int, provolatile, prorettype,
          pronargdefaults, array_to_string(proargtypes::oid[], ' '),
          CASE WHEN proallargtypes IS NULL THEN array_to_string(proargnames, ',') ELSE '' END,
          coalesce((SELECT string_agg(t || ':' || n, ',' ORDER BY i)
                    FROM unnest(proallargtypes, proargmodes, proargnames) WITH ORDINALITY AS a(t, m, n, i)
                    WHERE m IN ('o', 'b', 't')), '')
   FROM pg_proc WHERE oid < 16384 AND pronamespace = 'pg_catalog'::regnamespace AND prokind IN ('f', 'a', 'w')
   ORDER BY proname, oid"
q "SELECT 'D', oid, typname, typbasetype FROM pg_type
   WHERE typnamespace = 'information_schema'::regnamespace AND typtype = 'd' ORDER BY oid"
q "SELECT 'R', n.nspname, c.relname, a.attname, a.atttypid, (a.attnotnull AND c.relkind = 'r')::int
   FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname IN ('pg_catalog', 'information_schema') AND c.relkind IN ('r', 'v') AND a.attnum > 0
     AND NOT a.attisdropped
   ORDER BY n.nspname, c.relname, a.attnum"
q "DROP DATABASE IF EXISTS $scratch" >/dev/null
q "CREATE DATABASE $scratch" >/dev/null
trap 'q "DROP DATABASE IF EXISTS $scratch" >/dev/null' EXIT
x() { psql "$conn dbname=$scratch" -X -A -t -F $'\t' -c "$1"; }
for e in "${extensions[@]}"; do x "CREATE EXTENSION \"$e\" CASCADE" >/dev/null; done
members="(SELECT e.extname, d.classid, d.objid FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
          WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e' AND e.extname <> 'plpgsql')"
x "SELECT DISTINCT 'E', m.extname, 'T', t.oid, t.typname, t.typcategory, t.typispreferred::int, t.typtype, t.typelem,
          t.typarray
   FROM pg_type t JOIN $members m ON m.classid = 'pg_type'::regclass
                                 AND (m.objid = t.oid OR (t.typcategory = 'A' AND m.objid = t.typelem))
   ORDER BY 2, 4"
x "SELECT 'E', m.extname, 'C', c.castsource, c.casttarget, c.castcontext
   FROM pg_cast c JOIN $members m ON m.classid = 'pg_cast'::regclass AND m.objid = c.oid
   ORDER BY 2, 4, 5"
x "SELECT 'E', m.extname, 'O', o.oprname, o.oprleft, o.oprright, o.oprresult, coalesce(p.proisstrict, true)::int
   FROM pg_operator o JOIN $members m ON m.classid = 'pg_operator'::regclass AND m.objid = o.oid
   LEFT JOIN pg_proc p ON p.oid = o.oprcode
   ORDER BY 2, 4, 5, 6"
x "SELECT 'E', m.extname, 'P', proname, prokind, proretset::int, provariadic, proisstrict::int, provolatile,
          prorettype, pronargdefaults, array_to_string(proargtypes::oid[], ' '),
          CASE WHEN proallargtypes IS NULL THEN array_to_string(proargnames, ',') ELSE '' END,
          coalesce((SELECT string_agg(t || ':' || n, ',' ORDER BY i)
                    FROM unnest(proallargtypes, proargmodes, proargnames) WITH ORDINALITY AS a(t, m, n, i)
                    WHERE m IN ('o', 'b', 't')), '')
   FROM pg_proc p JOIN $members m ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid
   WHERE prokind IN ('f', 'a', 'w') AND prorettype NOT IN (2281, 2275) AND NOT 2281 = ANY(proargtypes::oid[])
     AND NOT 2275 = ANY(proargtypes::oid[])
   ORDER BY 2, proname, p.oid"
