\set ECHO none
-- A short run of both fuzzers (test/fuzz/): every case ends in a result or
-- a clean error.  An unclean error or a crash stops the run and shows here.
\set QUIET 1
\pset tuples_only true
\pset format unaligned
SET client_min_messages = warning;
CREATE EXTENSION usage_analytics;
\o /dev/null
SET fuzz.cases = 3000;
\i test/fuzz/args_fuzz.sql
\i test/fuzz/sketch_fuzz.sql
\o
SELECT 'fuzz: 6000 cases, every one a result or a clean error';
DROP EXTENSION usage_analytics;
