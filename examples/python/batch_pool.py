#!/usr/bin/python3
"""record_chat_events (the batch) from Python: psycopg 3 through a
psycopg_pool pool, several threads at once, the events bound as the driver
binds them (Jsonb of a native list of dicts).

The threads send overlapping request ids (across threads and inside one
batch), so concurrent batches claim the same keys.  Checked afterwards:
every call returned one id per element, every (user_id, request_id) has one
id wherever it was sent, each id is an event of that user and key, the
events are exactly one per key plus one per element without a key, the
counters equal the raw log, and the soft plan's 80 % warning was notified
exactly once per user.  A bad element fails the whole batch with 22023 and
writes nothing.  examples/run.sh runs it directly and through PgBouncer
(transaction mode); any mismatch raises and the script exits non-zero.
"""
import os
import random
import sys
import threading
import uuid
from decimal import Decimal

import psycopg
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

RUN = uuid.uuid4().hex[:8]
USERS = 6                 # per pass
THREADS = 4
CALLS = 8                 # per thread
EVENTS = 25               # per call
KEYS = 40                 # request ids per user: the threads' keys overlap


def check(what, got, want):
    if got != want:
        raise AssertionError(f"{what}: got {got!r}, want {want!r}")
    print(f"ok - {what}")


def tokens_of(user, key):
    """The same element for the same key, wherever it is sent."""
    return 100 + (hash((user, key)) % 900)


def batch_pass(conninfo, via):
    users = [f"pyb_{RUN}_{'b' if via else 'd'}{k}" for k in range(USERS)]
    kwargs = {"prepare_threshold": None} if via else {}
    sent = []                     # (user, key or None, tokens, returned id)
    senders = {}                  # (user, key) -> the threads that sent it
    lock = threading.Lock()
    errors = []

    with ConnectionPool(conninfo, min_size=2, max_size=THREADS, open=True, kwargs=kwargs) as pool:
        with pool.connection() as conn:
            for u in users:
                conn.execute("SELECT analytics.subscribe(%s, 'examples')", (u,))

        def worker(seed):
            rnd = random.Random(seed)
            try:
                for _ in range(CALLS):
                    events = []
                    for _ in range(EVENTS):
                        u = rnd.choice(users)
                        if rnd.random() < 0.2:
                            key = None
                            tok = rnd.randint(1, 999)
                        else:
                            key = f"r{rnd.randrange(KEYS)}"
                            tok = tokens_of(u, key)
                        e = {"user_id": u, "model": "gpt-4o-mini", "input_tokens": tok,
                             "output_tokens": 7, "response_time_ms": 250.4,
                             "metadata": {"client": "batch_pool.py"}}
                        if key is not None:
                            e["request_id"] = key
                        events.append((u, key, tok, e))
                    with pool.connection() as conn:          # one transaction, committed on exit
                        ids = [r[0] for r in conn.execute(
                            "SELECT * FROM analytics.record_chat_events(%s)",
                            (Jsonb([e for *_, e in events]),)).fetchall()]
                    if len(ids) != len(events) or any(not isinstance(i, int) for i in ids):
                        raise AssertionError(f"{len(ids)} ids for {len(events)} events: {ids!r}")
                    with lock:
                        sent.extend((u, key, tok, i) for (u, key, tok, _), i in zip(events, ids))
                        for u, key, _, _ in events:
                            senders.setdefault((u, key), set()).add(seed)
            except Exception as e:          # reported by the main thread
                errors.append(e)

        threads = [threading.Thread(target=worker, args=(f"{RUN}{via}{t}",)) for t in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        check(f"{via}{THREADS} threads x {CALLS} batches of {EVENTS}: an id for every element",
              len(sent), THREADS * CALLS * EVENTS)

        check(f"{via}the threads sent common keys",
              sum(1 for k, s in senders.items() if k[1] is not None and len(s) > 1) > 10, True)
        ids_of_key = {}
        for u, key, _, i in sent:
            if key is not None:
                ids_of_key.setdefault((u, key), set()).add(i)
        check(f"{via}each (user_id, request_id) has one id wherever it was sent",
              [k for k, s in ids_of_key.items() if len(s) != 1], [])
        keyless = [i for _, key, _, i in sent if key is None]
        check(f"{via}elements without request_id got distinct ids", len(set(keyless)), len(keyless))

        with pool.connection() as conn:
            rows = conn.execute(
                "SELECT id, user_id, request_id, input_tokens FROM analytics.chat_events"
                " WHERE user_id = ANY(%s)", (users,)).fetchall()
            by_id = {r[0]: r[1:] for r in rows}
            check(f"{via}one event per key plus one per element without a key",
                  len(rows), len(ids_of_key) + len(keyless))
            check(f"{via}every returned id is the event of its user, key and tokens",
                  [(u, key, tok, i) for u, key, tok, i in sent if by_id.get(i) != (u, key, tok)], [])
            diff = conn.execute(
                """SELECT count(*) FROM (
                     (SELECT user_id, count(*), sum(input_tokens), sum(output_tokens), sum(cost),
                             sum(response_time_ms)
                        FROM analytics.chat_events WHERE user_id = ANY(%s) GROUP BY 1
                      EXCEPT
                      SELECT user_id, sum(requests), sum(input_tokens), sum(output_tokens), sum(cost),
                             sum(response_time_sum)
                        FROM analytics.usage_counters WHERE user_id = ANY(%s) GROUP BY 1)
                     UNION ALL
                     (SELECT user_id, sum(requests), sum(input_tokens), sum(output_tokens), sum(cost),
                             sum(response_time_sum)
                        FROM analytics.usage_counters WHERE user_id = ANY(%s) GROUP BY 1
                      EXCEPT
                      SELECT user_id, count(*), sum(input_tokens), sum(output_tokens), sum(cost),
                             sum(response_time_ms)
                        FROM analytics.chat_events WHERE user_id = ANY(%s) GROUP BY 1)) d""",
                (users, users, users, users)).fetchone()[0]
            check(f"{via}the counters equal the raw log, user by user", diff, 0)
            notes = conn.execute(
                "SELECT user_id, limit_name, threshold, count(*) FROM analytics.notifications"
                " WHERE user_id = ANY(%s) GROUP BY 1, 2, 3 ORDER BY 1", (users,)).fetchall()
            check(f"{via}the 80 % warning of the monthly request limit, once per user", notes,
                  [(u, "monthly_requests", Decimal("0.8"), 1) for u in sorted(users)])

        # A bad element: the whole batch fails, naming it, and writes nothing.
        with pool.connection() as conn:
            before = conn.execute("SELECT count(*) FROM analytics.chat_events WHERE user_id = ANY(%s)",
                                  (users,)).fetchone()[0]
            try:
                conn.execute("SELECT * FROM analytics.record_chat_events(%s)",
                             (Jsonb([{"user_id": users[0], "model": "gpt-4o-mini", "input_tokens": 5},
                                     {"user_id": users[0], "model": "gpt-4o-mini", "input_tokens": -1}]),))
                raise AssertionError(f"{via}a negative token count was accepted")
            except psycopg.Error as e:
                check(f"{via}a bad element is 22023 naming it", (e.sqlstate, e.diag.message_primary.split(":")[0]),
                      ("22023", "event 2"))
                conn.rollback()
            after = conn.execute("SELECT count(*) FROM analytics.chat_events WHERE user_id = ANY(%s)",
                                 (users,)).fetchone()[0]
            check(f"{via}and nothing of that batch was written", after, before)


def main():
    conninfo = os.environ.get("UA_CONNINFO", "")    # else the PG* environment
    batch_pass(conninfo, "")
    if os.environ.get("UA_PGBOUNCER_PORT"):     # the same through PgBouncer, transaction mode
        batch_pass(f"{conninfo} port={os.environ['UA_PGBOUNCER_PORT']}", "PgBouncer: ")
    print("example_python_batch: all checks passed")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:          # any mismatch or unexpected error fails the example
        print(f"not ok - {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
