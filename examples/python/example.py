#!/usr/bin/python3
"""usage_analytics from Python: psycopg 3 and psycopg_pool (Debian's
python3-psycopg and python3-psycopg-pool).

Connects as the application's backend role (PG* environment variables,
TCP with a password) and checks what it does: any mismatch raises, and the
script exits non-zero.  examples/run.sh prepares the database:
grant_app_backend('app'), grant_end_user('authenticated'),
grant_act_as('app', 'authenticated') and a soft plan 'examples' with a
monthly limit of 10 requests and a warning at 80 %.
"""
import json
import os
import sys
import time
import uuid
from decimal import Decimal

import psycopg
from psycopg import errors
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

RUN = uuid.uuid4().hex[:8]          # fresh user ids on every run
END_USER_ROLE = os.environ.get("UA_END_USER_ROLE", "authenticated")


def check(what, got, want):
    if got != want:
        raise AssertionError(f"{what}: got {got!r}, want {want!r}")
    print(f"ok - {what}")


def expect_error(what, sqlstate, fn):
    try:
        fn()
    except psycopg.Error as e:
        check(what, e.sqlstate, sqlstate)
        return
    raise AssertionError(f"{what}: no error, want {sqlstate}")


check_, expect_error_ = check, expect_error


def record_with_named_arguments(conn):
    user = f"py_{RUN}_alice"
    # A Python float goes as double precision, a Decimal as numeric.
    event_id = conn.execute(
        """SELECT analytics.record_chat_event(
                 user_id => %(user)s, model => %(model)s, provider => 'openai',
                 input_tokens => %(inp)s, output_tokens => %(out)s,
                 response_time_ms => %(ms)s, time_to_first_token_ms => %(ttft)s,
                 cost => %(cost)s, request_id => %(req)s, category => 'chat',
                 metadata => %(meta)s)""",
        {"user": user, "model": "gpt-4o", "inp": 1200, "out": 350, "ms": 812.7, "ttft": 99.4,
         "cost": 0.0123, "req": f"req_{RUN}_1", "meta": Jsonb({"client": "python"})},
    ).fetchone()[0]
    row = conn.execute(
        "SELECT response_time_ms, time_to_first_token_ms, cost, cost_source, status"
        "  FROM analytics.chat_events WHERE id = %s", (event_id,)).fetchone()
    check("a float latency is rounded, a float cost kept as the decimal it prints as",
          row, (813, 99, Decimal("0.0123"), "provided", "completed"))
    # Repeating the request id returns the first event and changes nothing.
    again = conn.execute(
        "SELECT analytics.record_chat_event(user_id => %s, model => 'gpt-4o', request_id => %s)",
        (user, f"req_{RUN}_1")).fetchone()[0]
    check("a repeated request_id returns the first event", again, event_id)
    # Priced from the price book when no cost is given; a Decimal stays exact.
    def cost_of(event_id):
        return conn.execute("SELECT cost FROM analytics.chat_events WHERE id = %s",
                            (event_id,)).fetchone()[0]
    priced = conn.execute(
        "SELECT analytics.record_chat_event(user_id => %s, model => 'gpt-4o-mini',"
        " input_tokens => %s, output_tokens => %s)", (user, 1000000, 0)).fetchone()[0]
    check("priced from the price book", cost_of(priced), Decimal("0.15"))
    exact = conn.execute(
        "SELECT analytics.record_chat_event(user_id => %s, model => 'gpt-4o', cost => %s)",
        (user, Decimal("0.000000000123456789123456789"))).fetchone()[0]
    check("a Decimal cost is kept exact", cost_of(exact), Decimal("0.000000000123456789123456789"))
    conn.commit()
    expect_error("a NaN latency is 22023", "22023", lambda: conn.execute(
        "SELECT analytics.record_chat_event(user_id => %s, model => 'gpt-4o', response_time_ms => %s)",
        (user, float("nan"))))
    conn.rollback()
    return user


def admission(conn):
    user = f"py_{RUN}_bob"
    # On pro: it admits gpt-4o (the default plan, free, lists other models).
    conn.execute("SELECT analytics.subscribe(%s, 'pro')", (user,))
    conn.commit()
    # Success: admitted, then settled with the actual usage.
    ev, allowed, status = conn.execute(
        "SELECT event_id, allowed, status FROM analytics.start_request("
        " user_id => %s, model => 'gpt-4o', estimated_tokens => %s, estimated_cost => %s,"
        " request_id => %s)", (user, 4000, 0.05, f"req_{RUN}_s1")).fetchone()
    check("start_request admits (pending)", (allowed, status), (True, "pending"))
    conn.commit()
    out = conn.execute(
        "SELECT event_id_out, status_out FROM analytics.complete_request("
        " event_id => %s, input_tokens => %s, cached_input_tokens => %s, output_tokens => %s,"
        " response_time_ms => %s)", (ev, 400, 800, 350, 1840.4)).fetchone()
    check("complete_request settles it", out, (ev, "completed"))
    conn.commit()
    # Failure: the provider call failed; settle it as failed, with a float cost.
    ev2 = conn.execute(
        "SELECT event_id FROM analytics.start_request(user_id => %s, model => 'gpt-4o',"
        " estimated_tokens => %s, request_id => %s)", (user, 2000, f"req_{RUN}_s2")).fetchone()[0]
    conn.commit()
    out = conn.execute(
        "SELECT status_out, cost_out FROM analytics.complete_request("
        " user_id => %s, request_id => %s, status => 'failed', error_code => 'timeout',"
        " error_message => 'upstream timed out', cost => %s, response_time_ms => %s)",
        (user, f"req_{RUN}_s2", 0.0, 30000.0)).fetchone()
    check("complete_request records the failure", out, ("failed", Decimal("0")))
    conn.commit()
    rows = conn.execute(
        "SELECT status, error_code, response_time_ms, reserved_tokens FROM analytics.chat_events"
        " WHERE user_id = %s ORDER BY id", (user,)).fetchall()
    check("both requests are settled", [r[:3] for r in rows],
          [("completed", None, 1840), ("failed", "timeout", 30000)])
    counted = conn.execute(
        "SELECT sum(requests)::int, sum(failed)::int, sum(pending_requests)::int"
        "  FROM analytics.usage_counters WHERE user_id = %s", (user,)).fetchone()
    check("the counters: two requests, one failed, no reservation left", counted, (2, 1, 0))
    conn.commit()
    return user


def provider_usage(conn):
    user = f"py_{RUN}_carol"
    # An OpenAI Chat Completions usage object, as the SDK returns it.
    usage = {"prompt_tokens": 1200, "completion_tokens": 350, "total_tokens": 1550,
             "prompt_tokens_details": {"cached_tokens": 800},
             "completion_tokens_details": {"reasoning_tokens": 100}}
    event_id = conn.execute(
        """SELECT analytics.record_chat_event(
                    user_id => %s, model => 'gpt-4o', provider => 'openai',
                    input_tokens => u.input_tokens, cached_input_tokens => u.cached_input_tokens,
                    cache_write_tokens => u.cache_write_tokens, output_tokens => u.output_tokens,
                    reasoning_tokens => u.reasoning_tokens)
             FROM analytics.openai_usage(%s) u""",
        (user, Jsonb(usage))).fetchone()[0]
    row = conn.execute(
        "SELECT input_tokens, cached_input_tokens, output_tokens, reasoning_tokens"
        "  FROM analytics.chat_events WHERE id = %s", (event_id,)).fetchone()
    check("an OpenAI usage object maps onto the ledger (prompt tokens include cached ones)",
          row, (400, 800, 350, 100))
    conn.commit()


def threshold_notification(conn, listener):
    user = f"py_{RUN}_dave"
    got = []
    listener.add_notify_handler(lambda n: got.append(n))
    listener.execute("LISTEN usage_analytics")
    conn.execute("SELECT analytics.subscribe(%s, 'examples')", (user,))
    conn.commit()
    for i in range(8):              # 8 of 10 monthly requests: the 80 % threshold
        conn.execute("SELECT analytics.record_chat_event(user_id => %s, model => 'gpt-4o-mini',"
                     " input_tokens => %s)", (user, 10))
        conn.commit()
    deadline = time.monotonic() + 10
    mine = []
    while time.monotonic() < deadline:
        listener.execute("SELECT 1")          # delivers what arrived
        mine = [json.loads(n.payload) for n in got if json.loads(n.payload)["user_id"] == user]
        if mine:
            break
        time.sleep(0.1)
    check("one threshold notification", len(mine), 1)
    check("for the monthly request limit at 80 %",
          (mine[0]["limit"], Decimal(str(mine[0]["threshold"])), mine[0]["used"], mine[0]["limit_value"]),
          ("monthly_requests", Decimal("0.8"), 8, 10))
    listener.execute("UNLISTEN usage_analytics")


def end_users_through_a_pool(conninfo, users, via=""):
    alice, bob = users
    # psycopg prepares statements on the server after 5 executions: not
    # through a PgBouncer that does not track them (before 1.21).
    kwargs = {"prepare_threshold": None} if via else {}

    def check(what, got, want):
        check_(f"{via}{what}", got, want)

    def expect_error(what, sqlstate, fn):
        expect_error_(f"{via}{what}", sqlstate, fn)

    # One connection, so that B's transaction reuses the one A's used.
    with ConnectionPool(conninfo, min_size=1, max_size=1, open=True, kwargs=kwargs) as pool:
        def read_as(user):
            with pool.connection() as conn:        # commits (or rolls back) on exit
                conn.execute("SELECT analytics.act_as(%s, %s)", (user, END_USER_ROLE))
                who = conn.execute("SELECT analytics.current_user_id(), current_user,"
                                   " pg_backend_pid()").fetchone()
                seen = conn.execute("SELECT DISTINCT user_id FROM analytics.chat_events").fetchall()
                hist = conn.execute("SELECT count(*) FROM analytics.get_user_request_history(%s, 50, 0)",
                                    (user,)).fetchone()[0]
                other = alice if user == bob else bob
                other_hist = conn.execute(
                    "SELECT count(*) FROM analytics.get_user_request_history(%s, 50, 0)",
                    (other,)).fetchone()[0]
                dash = conn.execute("SELECT analytics.user_dashboard(%s)", (user,)).fetchone()[0]
                return who, seen, hist, other_hist, dash

        def pooled_state():
            with pool.connection() as conn:
                return conn.execute("SELECT analytics.current_user_id(), current_user,"
                                    " pg_backend_pid()").fetchone()

        who, seen, hist, other_hist, dash = read_as(alice)
        check("A: identity and end-user role for the transaction", who[:2], (alice, END_USER_ROLE))
        check("A sees only A's events", seen, [(alice,)])
        check("A's history", hist > 0, True)
        check("A reads nothing of B", other_hist, 0)
        check("A's dashboard", isinstance(dash, dict), True)
        after = pooled_state()
        check("the pooled connection reused after A's transaction carries no identity of A",
              after, (None, "app", who[2]))
        who_b, seen_b, hist_b, other_b, _ = read_as(bob)
        check("B got the same pooled connection", who_b[2], who[2])
        check("B: identity and end-user role", who_b[:2], (bob, END_USER_ROLE))
        check("B sees only B's events", seen_b, [(bob,)])
        check("B reads nothing of A", other_b, 0)
        check("and B's history", hist_b > 0, True)
        check("nothing of B remains either", pooled_state(), (None, "app", who[2]))

        # Once acting as an end user, the transaction cannot switch users.
        with pool.connection() as conn:
            conn.execute("SELECT analytics.act_as(%s, %s)", (alice, END_USER_ROLE))
            expect_error("the end-user role cannot call act_as again", "42501",
                         lambda: conn.execute("SELECT analytics.act_as(%s, %s)", (bob, END_USER_ROLE)))
            conn.rollback()
        with pool.connection() as conn:
            conn.execute("SELECT analytics.act_as(%s, %s)", (alice, END_USER_ROLE))
            expect_error("nor set the identity", "42501", lambda: conn.execute(
                "SELECT set_config('usage_analytics.user_id', %s, true)", (bob,)))
            conn.rollback()

    # In autocommit mode the setting would end with the statement: refused.
    with psycopg.connect(conninfo, autocommit=True, **kwargs) as conn:
        expect_error("act_as outside a transaction block is 25P01", "25P01", lambda: conn.execute(
            "SELECT analytics.act_as(%s, %s)", (alice, END_USER_ROLE)))


def main():
    conninfo = os.environ.get("UA_CONNINFO", "")    # else the PG* environment
    with psycopg.connect(conninfo) as conn, psycopg.connect(conninfo, autocommit=True) as listener:
        alice = record_with_named_arguments(conn)
        bob = admission(conn)
        provider_usage(conn)
        threshold_notification(conn, listener)
    end_users_through_a_pool(conninfo, (alice, bob))
    if os.environ.get("UA_PGBOUNCER_PORT"):     # the same through PgBouncer, transaction mode
        end_users_through_a_pool(f"{conninfo} port={os.environ['UA_PGBOUNCER_PORT']}", (alice, bob),
                                 via="PgBouncer: ")
    print("example_python: all checks passed")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:          # any mismatch or unexpected error fails the example
        print(f"not ok - {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
