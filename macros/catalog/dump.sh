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
# (argnames: comma-separated, empty for an unnamed argument; only for functions without OUT
# arguments, whose names would not line up with argtypes; outs: the OUT/TABLE columns of a
# function that has them, as comma-separated type:name)
set -euo pipefail
conn="${1:?usage: dump.sh CONNINFO}"
q() { psql "$conn" -X -A -t -F $'\t' -c "$1"; }
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
