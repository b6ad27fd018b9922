CREATE OR REPLACE FUNCTION analytics.rollup_comparisons(d_from date, d_to date, w bigint)
  RETURNS TABLE (rollup text, stored_sql text, recomputed_sql text)
  LANGUAGE sql IMMUTABLE
  BEGIN ATOMIC
    SELECT x.rollup,
           format(x.stored, quote_nullable(d_from), quote_nullable(d_to)),
           format(x.recomputed, quote_nullable(d_from), quote_nullable(d_to), w)
      FROM (VALUES
        ('usage_counters',
         $$SELECT row(user_id, usage_date)::text, row(sum(requests), sum(failed), sum(input_tokens),
                  sum(cached_input_tokens), sum(cache_write_tokens), sum(output_tokens), sum(reasoning_tokens),
                  sum(cache_hits), trim_scale(sum(cost)), trim_scale(sum(cache_savings)), sum(response_time_sum), sum(response_time_count),
                  sum(pending_requests), sum(pending_tokens), trim_scale(sum(pending_cost)), sum(rejected))::text
             FROM analytics.usage_counters WHERE usage_date BETWEEN COALESCE(%1$s::date, '-infinity'::date) AND COALESCE(%2$s::date, 'infinity'::date)
            GROUP BY user_id, usage_date
           HAVING sum(requests) <> 0 OR sum(pending_requests) <> 0 OR sum(rejected) <> 0 OR sum(failed) <> 0
               OR sum(input_tokens) <> 0 OR sum(cached_input_tokens) <> 0 OR sum(cache_write_tokens) <> 0
               OR sum(output_tokens) <> 0 OR sum(reasoning_tokens) <> 0 OR sum(cache_hits) <> 0 OR sum(cost) <> 0
               OR sum(cache_savings) <> 0 OR sum(response_time_sum) <> 0 OR sum(response_time_count) <> 0
               OR sum(pending_tokens) <> 0 OR sum(pending_cost) <> 0$$,
         $$SELECT row(user_id, usage_date)::text, row(count(*) FILTER (WHERE f), count(*) FILTER (WHERE status = 'failed'),
                  COALESCE(sum(input_tokens) FILTER (WHERE f), 0), COALESCE(sum(cached_input_tokens) FILTER (WHERE f), 0),
                  COALESCE(sum(cache_write_tokens) FILTER (WHERE f), 0), COALESCE(sum(output_tokens) FILTER (WHERE f), 0),
                  COALESCE(sum(reasoning_tokens) FILTER (WHERE f), 0), count(*) FILTER (WHERE f AND cache_hit),
                  trim_scale(COALESCE(sum(cost) FILTER (WHERE f), 0)), trim_scale(COALESCE(sum(cache_savings) FILTER (WHERE f), 0)),
                  COALESCE(sum(response_time_ms) FILTER (WHERE f), 0), count(response_time_ms) FILTER (WHERE f),
                  count(*) FILTER (WHERE status = 'pending'), COALESCE(sum(reserved_tokens) FILTER (WHERE status = 'pending'), 0),
                  trim_scale(COALESCE(sum(reserved_cost) FILTER (WHERE status = 'pending'), 0)),
                  count(*) FILTER (WHERE status = 'rejected'))::text
             FROM (SELECT e.*, e.status IN ('completed', 'failed') AS f FROM analytics.chat_events e
                    WHERE e.status IN ('completed', 'failed', 'pending', 'rejected')
                      AND e.usage_date BETWEEN COALESCE(%1$s::date, '-infinity'::date) AND COALESCE(%2$s::date, 'infinity'::date)) e
            GROUP BY user_id, usage_date$$),
        ('rollup_user_daily',
         $$SELECT row(user_id, usage_date)::text, row(latency, ttft, feedback_sum, feedback_count, query_length_sum, query_length_count, response_length_sum, response_length_count)::text
             FROM analytics.rollup_user_daily WHERE usage_date BETWEEN COALESCE(%1$s::date, '-infinity'::date) AND COALESCE(%2$s::date, 'infinity'::date)$$,
         $$SELECT row(user_id, usage_date)::text,
                  row(analytics.latency_sketch_agg(response_time_ms), analytics.latency_sketch_agg(time_to_first_token_ms),
                      COALESCE(sum(feedback_rating), 0), count(feedback_rating),
                      COALESCE(sum(user_query_length), 0), count(user_query_length),
                      COALESCE(sum(ai_response_length), 0), count(ai_response_length))::text
             FROM analytics.chat_events WHERE status IN ('completed', 'failed') AND recorded_xid < %3$s
              AND usage_date BETWEEN COALESCE(%1$s::date, '-infinity'::date) AND COALESCE(%2$s::date, 'infinity'::date)
            GROUP BY user_id, usage_date$$),
        ('rollup_org_daily',
         $$SELECT row(org_id, usage_date)::text, row(latency, ttft, feedback_sum, feedback_count, query_length_sum, query_length_count, response_length_sum, response_length_count)::text
             FROM analytics.rollup_org_daily WHERE usage_date BETWEEN COALESCE(%1$s::date, '-infinity'::date) AND COALESCE(%2$s::date, 'infinity'::date)$$,
         $$SELECT row(org_id, usage_date)::text,
                  row(analytics.latency_sketch_agg(response_time_ms), analytics.latency_sketch_agg(time_to_first_token_ms),
                      COALESCE(sum(feedback_rating), 0), count(feedback_rating),
                      COALESCE(sum(user_query_length), 0), count(user_query_length),
                      COALESCE(sum(ai_response_length), 0), count(ai_response_length))::text
             FROM analytics.chat_events WHERE status IN ('completed', 'failed') AND recorded_xid < %3$s AND org_id IS NOT NULL
              AND usage_date BETWEEN COALESCE(%1$s::date, '-infinity'::date) AND COALESCE(%2$s::date, 'infinity'::date)
            GROUP BY org_id, usage_date$$),
        ('rollup_user_monthly',
         $$SELECT row(user_id, month)::text, row(latency, ttft, feedback_sum, feedback_count, query_length_sum, query_length_count, response_length_sum, response_length_count,
                  requests, failed, tokens_total, cached_input_tokens, cache_hits, trim_scale(cost), trim_scale(cache_savings), active_day_bits, last_used)::text
             FROM analytics.rollup_user_monthly WHERE month BETWEEN COALESCE(%1$s::date, '-infinity'::date) AND COALESCE(%2$s::date, 'infinity'::date)$$,
         $$SELECT row(user_id, date_trunc('month', usage_date::timestamp)::date)::text,
                  row(analytics.latency_sketch_agg(response_time_ms), analytics.latency_sketch_agg(time_to_first_token_ms),
                      COALESCE(sum(feedback_rating), 0), count(feedback_rating),
                      COALESCE(sum(user_query_length), 0), count(user_query_length),
                      COALESCE(sum(ai_response_length), 0), count(ai_response_length),
                      count(*), count(*) FILTER (WHERE status = 'failed'),
                      sum(input_tokens + cached_input_tokens + cache_write_tokens + output_tokens),
                      sum(cached_input_tokens), count(*) FILTER (WHERE cache_hit), trim_scale(sum(cost)),
                      trim_scale(COALESCE(sum(cache_savings), 0)), bit_or(1 << (extract(day FROM usage_date)::integer - 1)),
                      max(occurred_at))::text
             FROM analytics.chat_events WHERE status IN ('completed', 'failed') AND recorded_xid < %3$s
              AND date_trunc('month', usage_date::timestamp)::date BETWEEN COALESCE(%1$s::date, '-infinity'::date) AND COALESCE(%2$s::date, 'infinity'::date)
            GROUP BY user_id, date_trunc('month', usage_date::timestamp)::date$$),
        ('rollup_user_models',
         $$SELECT row(user_id, usage_date, provider, model)::text,
                  row(requests, failed, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens,
                      reasoning_tokens, trim_scale(cost), latency_sum, latency_count, last_used)::text
             FROM analytics.rollup_user_models WHERE usage_date BETWEEN COALESCE(%1$s::date, '-infinity'::date) AND COALESCE(%2$s::date, 'infinity'::date)$$,
         $$SELECT row(user_id, usage_date, COALESCE(provider, ''), model)::text,
                  row(count(*), count(*) FILTER (WHERE status = 'failed'), sum(input_tokens), sum(cached_input_tokens),
                      sum(cache_write_tokens), sum(output_tokens), sum(reasoning_tokens), trim_scale(sum(cost)),
                      COALESCE(sum(response_time_ms), 0), count(response_time_ms), max(occurred_at))::text
             FROM analytics.chat_events WHERE status IN ('completed', 'failed') AND recorded_xid < %3$s
              AND usage_date BETWEEN COALESCE(%1$s::date, '-infinity'::date) AND COALESCE(%2$s::date, 'infinity'::date)
            GROUP BY user_id, usage_date, COALESCE(provider, ''), model$$),
        ('rollup_user_categories',
         $$SELECT row(user_id, usage_date, category)::text, requests::text
             FROM analytics.rollup_user_categories WHERE usage_date BETWEEN COALESCE(%1$s::date, '-infinity'::date) AND COALESCE(%2$s::date, 'infinity'::date)$$,
         $$SELECT row(user_id, usage_date, category)::text, count(*)::text
             FROM analytics.chat_events WHERE status IN ('completed', 'failed') AND recorded_xid < %3$s
              AND category IS NOT NULL
              AND usage_date BETWEEN COALESCE(%1$s::date, '-infinity'::date) AND COALESCE(%2$s::date, 'infinity'::date)
            GROUP BY user_id, usage_date, category$$),
        ('rollup_documents',
         $$SELECT row(document_id, usage_date)::text,
                  row(requests, failed, tokens_total, trim_scale(cost), cache_hits, latency, feedback_sum, feedback_count,
                      last_used)::text
             FROM analytics.rollup_documents WHERE usage_date BETWEEN COALESCE(%1$s::date, '-infinity'::date) AND COALESCE(%2$s::date, 'infinity'::date)$$,
         $$SELECT row(document_id, (occurred_at AT TIME ZONE 'UTC')::date)::text,
                  row(count(*), count(*) FILTER (WHERE status = 'failed'),
                      sum(input_tokens + cached_input_tokens + cache_write_tokens + output_tokens), trim_scale(sum(cost)),
                      count(*) FILTER (WHERE cache_hit), analytics.latency_sketch_agg(response_time_ms),
                      COALESCE(sum(feedback_rating), 0), count(feedback_rating), max(occurred_at))::text
             FROM analytics.chat_events WHERE status IN ('completed', 'failed') AND recorded_xid < %3$s
              AND document_id IS NOT NULL
              AND (occurred_at AT TIME ZONE 'UTC')::date BETWEEN COALESCE(%1$s::date, '-infinity'::date) AND COALESCE(%2$s::date, 'infinity'::date)
            GROUP BY document_id, (occurred_at AT TIME ZONE 'UTC')::date$$),
        ('rollup_system_models',
         $$SELECT row(usage_date, provider, model)::text,
                  row(requests, failed, tokens_total, cached_input_tokens, cache_hits, trim_scale(cost), trim_scale(cache_savings), latency,
                      feedback_sum, feedback_count, query_length_sum, query_length_count, response_length_sum, response_length_count)::text
             FROM analytics.rollup_system_models WHERE usage_date BETWEEN COALESCE(%1$s::date, '-infinity'::date) AND COALESCE(%2$s::date, 'infinity'::date)$$,
         $$SELECT row((occurred_at AT TIME ZONE 'UTC')::date, COALESCE(provider, ''), model)::text,
                  row(count(*), count(*) FILTER (WHERE status = 'failed'),
                      sum(input_tokens + cached_input_tokens + cache_write_tokens + output_tokens),
                      sum(cached_input_tokens), count(*) FILTER (WHERE cache_hit), trim_scale(sum(cost)),
                      trim_scale(COALESCE(sum(cache_savings), 0)), analytics.latency_sketch_agg(response_time_ms),
                      COALESCE(sum(feedback_rating), 0), count(feedback_rating),
                      COALESCE(sum(user_query_length), 0), count(user_query_length),
                      COALESCE(sum(ai_response_length), 0), count(ai_response_length))::text
             FROM analytics.chat_events WHERE status IN ('completed', 'failed') AND recorded_xid < %3$s
              AND (occurred_at AT TIME ZONE 'UTC')::date BETWEEN COALESCE(%1$s::date, '-infinity'::date) AND COALESCE(%2$s::date, 'infinity'::date)
            GROUP BY (occurred_at AT TIME ZONE 'UTC')::date, COALESCE(provider, ''), model$$),
        ('rollup_user_labels',
         $$SELECT row(user_id, usage_date, kind, label)::text, requests::text
             FROM analytics.rollup_user_labels WHERE usage_date BETWEEN COALESCE(%1$s::date, '-infinity'::date) AND COALESCE(%2$s::date, 'infinity'::date)$$,
         $$SELECT row(e.user_id, e.usage_date, v.kind, v.label)::text, count(*)::text
             FROM analytics.chat_events e,
                  LATERAL (VALUES ('query_intent', e.query_intent), ('request_type', e.request_type)) AS v(kind, label)
            WHERE e.status IN ('completed', 'failed') AND e.recorded_xid < %3$s AND v.label IS NOT NULL
              AND e.usage_date BETWEEN COALESCE(%1$s::date, '-infinity'::date) AND COALESCE(%2$s::date, 'infinity'::date)
            GROUP BY e.user_id, e.usage_date, v.kind, v.label$$),
        ('rollup_system_labels',
         $$SELECT row(usage_date, kind, label)::text, requests::text
             FROM analytics.rollup_system_labels WHERE usage_date BETWEEN COALESCE(%1$s::date, '-infinity'::date) AND COALESCE(%2$s::date, 'infinity'::date)$$,
         $$SELECT row((e.occurred_at AT TIME ZONE 'UTC')::date, v.kind, v.label)::text, count(*)::text
             FROM analytics.chat_events e,
                  LATERAL (VALUES ('query_intent', e.query_intent), ('request_type', e.request_type)) AS v(kind, label)
            WHERE e.status IN ('completed', 'failed') AND e.recorded_xid < %3$s AND v.label IS NOT NULL
              AND (e.occurred_at AT TIME ZONE 'UTC')::date BETWEEN COALESCE(%1$s::date, '-infinity'::date) AND COALESCE(%2$s::date, 'infinity'::date)
            GROUP BY (e.occurred_at AT TIME ZONE 'UTC')::date, v.kind, v.label$$),
        ('rollup_conversations',
         $$SELECT row(user_id, usage_date)::text,
                  (SELECT array_agg(row(c.id, c.n, c.t, trim_scale(c.cost), c.f, c.l)::text ORDER BY c.o)
                     FROM unnest(conversation_ids, requests, tokens_total, cost, first_at, last_at)
                          WITH ORDINALITY AS c(id, n, t, cost, f, l, o))::text
             FROM analytics.rollup_conversations WHERE usage_date BETWEEN COALESCE(%1$s::date, '-infinity'::date) AND COALESCE(%2$s::date, 'infinity'::date)$$,
         $$SELECT row(user_id, usage_date)::text,
                  array_agg(row(conversation_id, n, t, trim_scale(c), f, l)::text ORDER BY conversation_id COLLATE "C")::text
             FROM (SELECT user_id, usage_date, conversation_id, count(*) AS n,
                          sum(input_tokens + cached_input_tokens + cache_write_tokens + output_tokens) AS t,
                          sum(cost) AS c, min(occurred_at) AS f, max(occurred_at) AS l
                     FROM analytics.chat_events WHERE status IN ('completed', 'failed') AND recorded_xid < %3$s
                      AND conversation_id IS NOT NULL
                      AND usage_date BETWEEN COALESCE(%1$s::date, '-infinity'::date) AND COALESCE(%2$s::date, 'infinity'::date)
                    GROUP BY user_id, usage_date, conversation_id) g
            GROUP BY user_id, usage_date$$),
        ('rollup_document_sections',
         $$SELECT row(document_id, usage_date, section)::text, requests::text
             FROM analytics.rollup_document_sections WHERE usage_date BETWEEN COALESCE(%1$s::date, '-infinity'::date) AND COALESCE(%2$s::date, 'infinity'::date)$$,
         $$SELECT row(e.document_id, (e.occurred_at AT TIME ZONE 'UTC')::date, s.section)::text, count(DISTINCT e.id)::text
             FROM analytics.chat_events e, unnest(e.sections_referenced) AS s(section)
            WHERE e.status IN ('completed', 'failed') AND e.recorded_xid < %3$s
              AND e.document_id IS NOT NULL AND s.section IS NOT NULL
              AND (e.occurred_at AT TIME ZONE 'UTC')::date BETWEEN COALESCE(%1$s::date, '-infinity'::date) AND COALESCE(%2$s::date, 'infinity'::date)
            GROUP BY e.document_id, (e.occurred_at AT TIME ZONE 'UTC')::date, s.section$$),
        ('rollup_distinct',
         $$SELECT row(scope, scope_id, usage_date)::text, items::text
             FROM analytics.rollup_distinct WHERE usage_date BETWEEN COALESCE(%1$s::date, '-infinity'::date) AND COALESCE(%2$s::date, 'infinity'::date)$$,
         $$SELECT row(v.scope, v.scope_id, v.d)::text, array_agg(DISTINCT v.item COLLATE "C" ORDER BY v.item COLLATE "C")::text
             FROM analytics.chat_events e,
                  LATERAL (VALUES
                    ('user_document', e.user_id, e.usage_date, e.document_id),
                    ('user_session', e.user_id, e.usage_date, e.session_id),
                    ('user_month_conversation', e.user_id, date_trunc('month', e.usage_date::timestamp)::date, e.conversation_id),
                    ('user_month_document', e.user_id, date_trunc('month', e.usage_date::timestamp)::date, e.document_id),
                    ('document_user', e.document_id, (e.occurred_at AT TIME ZONE 'UTC')::date, e.user_id),
                    ('document_conversation', e.document_id, (e.occurred_at AT TIME ZONE 'UTC')::date, e.conversation_id),
                    ('system_user', '', (e.occurred_at AT TIME ZONE 'UTC')::date, e.user_id),
                    ('system_conversation', '', (e.occurred_at AT TIME ZONE 'UTC')::date, e.conversation_id),
                    ('system_document', '', (e.occurred_at AT TIME ZONE 'UTC')::date, e.document_id)) AS v(scope, scope_id, d, item)
            WHERE e.status IN ('completed', 'failed') AND e.recorded_xid < %3$s
              AND v.scope_id IS NOT NULL AND v.item IS NOT NULL
              AND v.d BETWEEN COALESCE(%1$s::date, '-infinity'::date) AND COALESCE(%2$s::date, 'infinity'::date)
            GROUP BY v.scope, v.scope_id, v.d$$),
        ('rollup_api_daily',
         $$SELECT row(org_id, usage_date, api_key_id, endpoint)::text,
                  row(requests, status_1xx, status_2xx, status_3xx, status_4xx, status_5xx, cached, billable_units,
                      latency, last_seen)::text
             FROM analytics.rollup_api_daily WHERE usage_date BETWEEN COALESCE(%1$s::date, '-infinity'::date) AND COALESCE(%2$s::date, 'infinity'::date)$$,
         $$SELECT row(org_id, (occurred_at AT TIME ZONE 'UTC')::date, COALESCE(api_key_id, 0), endpoint)::text,
                  row(count(*), count(*) FILTER (WHERE status_code < 200),
                      count(*) FILTER (WHERE status_code BETWEEN 200 AND 299),
                      count(*) FILTER (WHERE status_code BETWEEN 300 AND 399),
                      count(*) FILTER (WHERE status_code BETWEEN 400 AND 499),
                      count(*) FILTER (WHERE status_code >= 500), count(*) FILTER (WHERE cached), sum(billable_units),
                      analytics.latency_sketch_agg(response_time_ms), max(occurred_at))::text
             FROM analytics.api_requests WHERE recorded_xid < %3$s
              AND (occurred_at AT TIME ZONE 'UTC')::date BETWEEN COALESCE(%1$s::date, '-infinity'::date) AND COALESCE(%2$s::date, 'infinity'::date)
            GROUP BY org_id, (occurred_at AT TIME ZONE 'UTC')::date, COALESCE(api_key_id, 0), endpoint$$),
        ('rollup_widget_daily',
         $$SELECT row(org_id, widget_id, usage_date)::text, row(requests, billable_units, last_seen)::text
             FROM analytics.rollup_widget_daily WHERE usage_date BETWEEN COALESCE(%1$s::date, '-infinity'::date) AND COALESCE(%2$s::date, 'infinity'::date)$$,
         $$SELECT row(org_id, widget_id, (occurred_at AT TIME ZONE 'UTC')::date)::text,
                  row(count(*), sum(billable_units), max(occurred_at))::text
             FROM analytics.api_requests WHERE recorded_xid < %3$s AND widget_id IS NOT NULL
              AND (occurred_at AT TIME ZONE 'UTC')::date BETWEEN COALESCE(%1$s::date, '-infinity'::date) AND COALESCE(%2$s::date, 'infinity'::date)
            GROUP BY org_id, widget_id, (occurred_at AT TIME ZONE 'UTC')::date$$),
        ('org_usage_counters',
         $$SELECT row(org_id, user_id, usage_date)::text, row(sum(requests), sum(failed), sum(input_tokens),
                  sum(cached_input_tokens), sum(cache_write_tokens), sum(output_tokens), sum(reasoning_tokens),
                  sum(cache_hits), trim_scale(sum(cost)), trim_scale(sum(cache_savings)), sum(response_time_sum), sum(response_time_count),
                  sum(pending_requests), sum(pending_tokens), trim_scale(sum(pending_cost)), sum(rejected))::text
             FROM analytics.org_usage_counters WHERE usage_date BETWEEN COALESCE(%1$s::date, '-infinity'::date) AND COALESCE(%2$s::date, 'infinity'::date)
            GROUP BY org_id, user_id, usage_date
           HAVING sum(requests) <> 0 OR sum(pending_requests) <> 0 OR sum(rejected) <> 0 OR sum(failed) <> 0
               OR sum(input_tokens) <> 0 OR sum(cached_input_tokens) <> 0 OR sum(cache_write_tokens) <> 0
               OR sum(output_tokens) <> 0 OR sum(reasoning_tokens) <> 0 OR sum(cache_hits) <> 0 OR sum(cost) <> 0
               OR sum(cache_savings) <> 0 OR sum(response_time_sum) <> 0 OR sum(response_time_count) <> 0
               OR sum(pending_tokens) <> 0 OR sum(pending_cost) <> 0$$,
         $$SELECT row(g.org_id, m.u, g.usage_date)::text, row(sum(requests), sum(failed), sum(input_tokens),
                  sum(cached_input_tokens), sum(cache_write_tokens), sum(output_tokens), sum(reasoning_tokens),
                  sum(cache_hits), trim_scale(sum(cost)), trim_scale(sum(cache_savings)), sum(response_time_sum), sum(response_time_count),
                  sum(pending_requests), sum(pending_tokens), trim_scale(sum(pending_cost)), sum(rejected))::text
             FROM analytics.org_counters_of_log(COALESCE(%1$s::date, '-infinity'::date), COALESCE(%2$s::date, 'infinity'::date)) g,
                  LATERAL (VALUES (g.user_id), ('')) AS m(u)
            GROUP BY g.org_id, m.u, g.usage_date$$)
      ) AS x(rollup, stored, recomputed);
  END;
COMMENT ON FUNCTION analytics.rollup_comparisons(date, date, bigint) IS
  'For each rollup, the query of its stored rows and the query recomputing them from the raw log; amounts compare by value (internal)';
REVOKE ALL ON FUNCTION analytics.rollup_comparisons(date, date, bigint) FROM PUBLIC;
