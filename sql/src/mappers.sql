/*-------------------------------------------------------------------------
 * mappers.sql
 *    Provider usage objects (OpenAI, Anthropic, Gemini, Bedrock, OpenAI
 *    Responses, OpenTelemetry GenAI) onto the disjoint token ledger.
 *-------------------------------------------------------------------------
 */

/*
 * Provider usage objects onto the disjoint ledger (SPEC §2): input excludes
 * cached reads and cache writes; reasoning is part of output.  Each field
 * is a non-negative integer or absent (0); a given total must add up.
 */
\ir functions/usage_tokens.sql

\ir functions/usage_object.sql

\ir functions/openai_usage.sql

\ir functions/anthropic_usage.sql

\ir functions/gemini_usage.sql

\ir functions/bedrock_usage.sql

\ir functions/openai_responses_usage.sql

\ir functions/otel_genai_usage.sql
