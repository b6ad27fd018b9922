/*-------------------------------------------------------------------------
 * corrections.sql
 *    Changes to recorded events: feedback ratings, and corrections (void or
 *    adjust an event, with the reason and the acting role kept in
 *    event_corrections).  Counters, rollups, quota answers and notifications
 *    follow.
 *-------------------------------------------------------------------------
 */

/* ------------------------------------------------------------------------
 * Feedback
 * ------------------------------------------------------------------------ */

\ir functions/record_feedback.sql

/*
 * record_feedback's rollup change goes through rollups_add, as
 * corrections do (one definition of a folded event's delta).
 */
\ir functions/apply_feedback.sql

/* ------------------------------------------------------------------------
 * Corrections
 * ------------------------------------------------------------------------ */

CREATE SEQUENCE analytics.event_corrections_correction_id_seq AS bigint;
CREATE TABLE analytics.event_corrections (
  correction_id       bigint PRIMARY KEY
                      DEFAULT pg_catalog.nextval('analytics.event_corrections_correction_id_seq'),
  event_id            bigint NOT NULL,
  user_id             text NOT NULL,
  occurred_at         timestamptz NOT NULL,
  kind                text NOT NULL CHECK (kind IN ('void', 'adjust')),
  reason              text NOT NULL CHECK (reason <> ''),
  actor               name NOT NULL,
  corrected_at        timestamptz NOT NULL DEFAULT pg_catalog.now(),
  before              jsonb NOT NULL,
  after               jsonb NOT NULL
);
ALTER SEQUENCE analytics.event_corrections_correction_id_seq OWNED BY analytics.event_corrections.correction_id;
CREATE INDEX event_corrections_event_idx ON analytics.event_corrections (event_id);
CREATE INDEX event_corrections_user_idx ON analytics.event_corrections (user_id, corrected_at);
COMMENT ON TABLE analytics.event_corrections IS
  'Every void and adjustment of a recorded event: figures before and after, the reason and the acting role';

ALTER TABLE analytics.event_corrections ENABLE ROW LEVEL SECURITY;
CREATE POLICY event_corrections_read ON analytics.event_corrections FOR SELECT
  USING (user_id OPERATOR(pg_catalog.=) (SELECT analytics.current_user_id())
         OR (SELECT analytics.sees_all_rows()));

SELECT pg_catalog.pg_extension_config_dump('analytics.event_corrections', '');
SELECT pg_catalog.pg_extension_config_dump('analytics.event_corrections_correction_id_seq', '');
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'TABLE', 'analytics.event_corrections', 'SELECT')
  ON CONFLICT DO NOTHING;

/*
 * Corrects the token counts and cost of a finished event.  NULL keeps a
 * figure.  Changed token counts of an event priced from model_prices are
 * priced again at the price in force when it occurred, unless new_cost is
 * given.  A void sets every figure to zero: the request stays counted as a
 * request (with its latency and rating), its usage and cost are refunded.
 * Internal: correct_event and void_event call it.
 */
\ir functions/apply_correction.sql

\ir functions/correct_event.sql

\ir functions/void_event.sql
