CREATE OR REPLACE FUNCTION analytics.conversations_union(
    a_ids text[], a_requests bigint[], a_tokens bigint[], a_cost numeric[], a_first timestamptz[], a_last timestamptz[],
    b_ids text[], b_requests bigint[], b_tokens bigint[], b_cost numeric[], b_first timestamptz[], b_last timestamptz[],
    OUT conversation_ids text[], OUT requests bigint[], OUT tokens_total bigint[], OUT cost numeric[],
    OUT first_at timestamptz[], OUT last_at timestamptz[])
  RETURNS record
  LANGUAGE C IMMUTABLE PARALLEL SAFE
  AS 'MODULE_PATHNAME', 'ua_conversations_union';
COMMENT ON FUNCTION analytics.conversations_union(text[], bigint[], bigint[], numeric[], timestamptz[], timestamptz[], text[], bigint[], bigint[], numeric[], timestamptz[], timestamptz[]) IS
  'Union of two user-days of rollup_conversations by one merge: a conversation of both adds its figures and keeps the earlier first and later last event (internal to the fold)';
REVOKE ALL ON FUNCTION analytics.conversations_union(text[], bigint[], bigint[], numeric[], timestamptz[], timestamptz[], text[], bigint[], bigint[], numeric[], timestamptz[], timestamptz[]) FROM PUBLIC;
