-- Reference build of the seed 000 design, for comparison only: the raw
-- table with the seed's indexes and two PL/pgSQL row triggers upserting
-- daily and monthly rows.  The seed's defects that stop it from running
-- on PostgreSQL 15 are patched minimally (the non-immutable month index is
-- dropped; division by zero and NULL users are guarded).
CREATE SCHEMA seed;
CREATE TABLE seed.chat_events (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  conversation_id text, message_id text, document_id text, user_id text,
  model_name text NOT NULL DEFAULT 'gemini-2.0-flash-exp', model_version text, model_provider text DEFAULT 'google',
  tokens_prompt integer NOT NULL DEFAULT 0, tokens_completion integer NOT NULL DEFAULT 0,
  tokens_cached integer DEFAULT 0,
  tokens_total integer GENERATED ALWAYS AS (tokens_prompt + tokens_completion) STORED,
  cost_prompt numeric(10,6) NOT NULL DEFAULT 0, cost_completion numeric(10,6) NOT NULL DEFAULT 0,
  cost_cached numeric(10,6) DEFAULT 0,
  cost_total numeric(10,6) GENERATED ALWAYS AS (cost_prompt + cost_completion + COALESCE(cost_cached, 0)) STORED,
  response_time_ms integer, cache_hit boolean DEFAULT false,
  user_query_length integer, ai_response_length integer,
  user_feedback_rating integer, user_feedback_text text, user_feedback_at timestamptz,
  error_occurred boolean DEFAULT false, error_message text, error_code text,
  query_intent text, sections_referenced text[], intermediate_steps integer DEFAULT 0,
  metadata jsonb DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz DEFAULT now());
CREATE INDEX ON seed.chat_events (conversation_id, created_at DESC);
CREATE INDEX ON seed.chat_events (user_id, created_at DESC);
CREATE INDEX ON seed.chat_events (document_id, created_at DESC);
CREATE INDEX ON seed.chat_events (created_at DESC);
CREATE INDEX ON seed.chat_events (cost_total DESC) WHERE cost_total > 0;
CREATE INDEX ON seed.chat_events (created_at DESC) WHERE error_occurred = true;
CREATE INDEX ON seed.chat_events (cache_hit, created_at DESC);
CREATE INDEX ON seed.chat_events (query_intent) WHERE query_intent IS NOT NULL;
CREATE INDEX ON seed.chat_events USING gin (metadata);

CREATE TABLE seed.user_daily_usage (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(), user_id text NOT NULL, date date NOT NULL,
  message_count integer DEFAULT 0, tokens_total bigint DEFAULT 0, tokens_cached bigint DEFAULT 0,
  cache_hit_count integer DEFAULT 0, cost_total numeric(10,4) DEFAULT 0, error_count integer DEFAULT 0,
  created_at timestamptz DEFAULT now(), updated_at timestamptz DEFAULT now(), UNIQUE (user_id, date));
CREATE TABLE seed.user_monthly_usage (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(), user_id text NOT NULL, year integer NOT NULL,
  month integer NOT NULL, message_count integer DEFAULT 0, tokens_total bigint DEFAULT 0,
  tokens_cached bigint DEFAULT 0, cache_hit_rate numeric(5,2), cost_total numeric(10,2) DEFAULT 0,
  error_count integer DEFAULT 0, created_at timestamptz DEFAULT now(), updated_at timestamptz DEFAULT now(),
  UNIQUE (user_id, year, month));

CREATE FUNCTION seed.update_monthly_usage() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.user_id IS NULL THEN RETURN NEW; END IF;
  INSERT INTO seed.user_monthly_usage (user_id, year, month, message_count, tokens_total, cost_total, tokens_cached, error_count)
  VALUES (NEW.user_id, EXTRACT(YEAR FROM NEW.created_at), EXTRACT(MONTH FROM NEW.created_at), 1, NEW.tokens_total,
          NEW.cost_total, COALESCE(NEW.tokens_cached, 0), CASE WHEN NEW.error_occurred THEN 1 ELSE 0 END)
  ON CONFLICT (user_id, year, month) DO UPDATE SET
    message_count = user_monthly_usage.message_count + 1,
    tokens_total = user_monthly_usage.tokens_total + EXCLUDED.tokens_total,
    cost_total = user_monthly_usage.cost_total + EXCLUDED.cost_total,
    tokens_cached = user_monthly_usage.tokens_cached + EXCLUDED.tokens_cached,
    error_count = user_monthly_usage.error_count + EXCLUDED.error_count,
    cache_hit_rate = ROUND((user_monthly_usage.tokens_cached + EXCLUDED.tokens_cached)::numeric
                           / NULLIF(user_monthly_usage.tokens_total + EXCLUDED.tokens_total, 0) * 100, 2),
    updated_at = now();
  RETURN NEW;
END $$;
CREATE TRIGGER trigger_update_monthly_usage AFTER INSERT ON seed.chat_events
  FOR EACH ROW EXECUTE FUNCTION seed.update_monthly_usage();

CREATE FUNCTION seed.update_daily_usage() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.user_id IS NULL THEN RETURN NEW; END IF;
  INSERT INTO seed.user_daily_usage (user_id, date, message_count, tokens_total, cost_total, tokens_cached,
                                     cache_hit_count, error_count)
  VALUES (NEW.user_id, DATE(NEW.created_at), 1, NEW.tokens_total, NEW.cost_total, COALESCE(NEW.tokens_cached, 0),
          CASE WHEN NEW.cache_hit THEN 1 ELSE 0 END, CASE WHEN NEW.error_occurred THEN 1 ELSE 0 END)
  ON CONFLICT (user_id, date) DO UPDATE SET
    message_count = user_daily_usage.message_count + 1,
    tokens_total = user_daily_usage.tokens_total + EXCLUDED.tokens_total,
    cost_total = user_daily_usage.cost_total + EXCLUDED.cost_total,
    tokens_cached = user_daily_usage.tokens_cached + EXCLUDED.tokens_cached,
    cache_hit_count = user_daily_usage.cache_hit_count + EXCLUDED.cache_hit_count,
    error_count = user_daily_usage.error_count + EXCLUDED.error_count,
    updated_at = now();
  RETURN NEW;
END $$;
CREATE TRIGGER trigger_update_daily_usage AFTER INSERT ON seed.chat_events
  FOR EACH ROW EXECUTE FUNCTION seed.update_daily_usage();
