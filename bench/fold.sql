-- One fold of everything recorded since the last, timed; :label names it.
SELECT clock_timestamp() AS t0 \gset
SELECT analytics.fold() AS folded \gset
SELECT extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) AS fold_s \gset
INSERT INTO bench.results (section, metric, value, target) VALUES
  ('fold', :'label' || ': events folded', :'folded', ''),
  ('fold', :'label' || ': events/s', round(:folded / :fold_s), '>= 200000');
