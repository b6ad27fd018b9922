'use strict';
// usage_analytics from Node.js with node-postgres (pg, installed by `npm ci`
// from package-lock.json).
//
// Connects as the application's backend role (PG* environment variables,
// TCP with a password) and checks what it does: any mismatch throws and the
// process exits non-zero.  examples/run.sh prepares the database:
// grant_app_backend('app'), grant_end_user('authenticated'),
// grant_act_as('app', 'authenticated') and a soft plan 'examples' with a
// monthly limit of 10 requests and a warning at 80 %.
//
// node-pg sends every parameter as an untyped string: 812.7 arrives as
// '812.7' and is rounded to a whole millisecond; a cost given as a string
// ('0.0123') is kept exact.  bigint and numeric results come back as strings.
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { Client, Pool } = require('pg');

const RUN = crypto.randomBytes(4).toString('hex');
const END_USER_ROLE = process.env.UA_END_USER_ROLE || 'authenticated';

function check(what, got, want) {
  assert.deepStrictEqual(got, want, what);
  console.log(`ok - ${what}`);
}

async function expectError(what, sqlstate, fn) {
  try {
    await fn();
  } catch (e) {
    check(what, e.code, sqlstate);
    return;
  }
  throw new Error(`${what}: no error, want ${sqlstate}`);
}

const checkAs = check;
const expectErrorAs = expectError;

async function recordWithNamedArguments(db) {
  const user = `js_${RUN}_alice`;
  const { rows: [{ id }] } = await db.query(
    `SELECT analytics.record_chat_event(
              user_id => $1, model => $2, provider => 'openai',
              input_tokens => $3, output_tokens => $4,
              response_time_ms => $5, time_to_first_token_ms => $6,
              cost => $7, request_id => $8, category => 'chat', metadata => $9) AS id`,
    [user, 'gpt-4o', 1200, 350, 812.7, 99.4, 0.0123, `req_${RUN}_1`, { client: 'node' }]);
  const { rows: [row] } = await db.query(
    `SELECT response_time_ms, time_to_first_token_ms, cost, cost_source, status
       FROM analytics.chat_events WHERE id = $1`, [id]);
  check('a float latency is rounded, a float cost kept as its decimal', row,
    { response_time_ms: 813, time_to_first_token_ms: 99, cost: '0.0123', cost_source: 'provided', status: 'completed' });
  const { rows: [again] } = await db.query(
    `SELECT analytics.record_chat_event(user_id => $1, model => 'gpt-4o', request_id => $2) AS id`,
    [user, `req_${RUN}_1`]);
  check('a repeated request_id returns the first event', again.id, id);
  const { rows: [exact] } = await db.query(
    `SELECT analytics.record_chat_event(user_id => $1, model => 'gpt-4o', cost => $2) AS id`,
    [user, '0.000000000123456789123456789']);
  const { rows: [stored] } = await db.query('SELECT cost FROM analytics.chat_events WHERE id = $1', [exact.id]);
  check('a cost given as a string is kept exact', stored.cost, '0.000000000123456789123456789');
  await expectError('a non-finite latency is 22023', '22023', () => db.query(
    `SELECT analytics.record_chat_event(user_id => $1, model => 'gpt-4o', response_time_ms => $2)`,
    [user, Infinity]));
  await expectError('a negative cost is 22023', '22023', () => db.query(
    `SELECT analytics.record_chat_event(user_id => $1, model => 'gpt-4o', cost => $2)`, [user, -0.5]));
  return user;
}

async function admission(db) {
  const user = `js_${RUN}_bob`;
  // On pro: it admits gpt-4o (the default plan, free, lists other models).
  await db.query(`SELECT analytics.subscribe($1, 'pro')`, [user]);
  const { rows: [s1] } = await db.query(
    `SELECT event_id, allowed, status FROM analytics.start_request(
       user_id => $1, model => 'gpt-4o', estimated_tokens => $2, estimated_cost => $3, request_id => $4)`,
    [user, 4000, 0.05, `req_${RUN}_s1`]);
  check('start_request admits (pending)', [s1.allowed, s1.status], [true, 'pending']);
  const { rows: [c1] } = await db.query(
    `SELECT event_id_out, status_out FROM analytics.complete_request(
       event_id => $1, input_tokens => $2, cached_input_tokens => $3, output_tokens => $4,
       response_time_ms => $5)`, [s1.event_id, 400, 800, 350, 1840.4]);
  check('complete_request settles it', c1, { event_id_out: s1.event_id, status_out: 'completed' });
  // The provider call failed: settle it as failed.
  await db.query(
    `SELECT event_id FROM analytics.start_request(user_id => $1, model => 'gpt-4o',
       estimated_tokens => $2, request_id => $3)`, [user, 2000, `req_${RUN}_s2`]);
  const { rows: [c2] } = await db.query(
    `SELECT status_out, cost_out FROM analytics.complete_request(
       user_id => $1, request_id => $2, status => 'failed', error_code => 'timeout',
       error_message => 'upstream timed out', cost => $3, response_time_ms => $4)`,
    [user, `req_${RUN}_s2`, 0, 30000.0]);
  check('complete_request records the failure', c2, { status_out: 'failed', cost_out: '0' });
  const { rows } = await db.query(
    `SELECT status, error_code, response_time_ms FROM analytics.chat_events WHERE user_id = $1 ORDER BY id`,
    [user]);
  check('both requests are settled', rows, [
    { status: 'completed', error_code: null, response_time_ms: 1840 },
    { status: 'failed', error_code: 'timeout', response_time_ms: 30000 }]);
  const { rows: [counted] } = await db.query(
    `SELECT sum(requests)::int AS requests, sum(failed)::int AS failed,
            sum(pending_requests)::int AS pending
       FROM analytics.usage_counters WHERE user_id = $1`, [user]);
  check('the counters: two requests, one failed, no reservation left', counted,
    { requests: 2, failed: 1, pending: 0 });
  return user;
}

async function providerUsage(db) {
  const user = `js_${RUN}_carol`;
  // An Anthropic Messages usage object, as the SDK returns it.
  const usage = { input_tokens: 900, cache_read_input_tokens: 4000, cache_creation_input_tokens: 200,
    output_tokens: 310 };
  const { rows: [ev] } = await db.query(
    `SELECT analytics.record_chat_event(
              user_id => $1, model => 'claude-sonnet-4',
              input_tokens => u.input_tokens, cached_input_tokens => u.cached_input_tokens,
              cache_write_tokens => u.cache_write_tokens, output_tokens => u.output_tokens,
              reasoning_tokens => u.reasoning_tokens) AS id
       FROM analytics.anthropic_usage($2) u`, [user, usage]);
  const { rows: [row] } = await db.query(
    `SELECT input_tokens, cached_input_tokens, cache_write_tokens, output_tokens
       FROM analytics.chat_events WHERE id = $1`, [ev.id]);
  check('an Anthropic usage object maps onto the ledger (input excludes the cache)', row,
    { input_tokens: 900, cached_input_tokens: 4000, cache_write_tokens: 200, output_tokens: 310 });
}

async function thresholdNotification(db) {
  const user = `js_${RUN}_dave`;
  const listener = new Client();
  await listener.connect();
  try {
    const got = [];
    listener.on('notification', (n) => got.push(JSON.parse(n.payload)));
    await listener.query('LISTEN usage_analytics');
    await db.query(`SELECT analytics.subscribe($1, 'examples')`, [user]);
    for (let i = 0; i < 8; i++) {   // 8 of 10 monthly requests: the 80 % threshold
      await db.query(`SELECT analytics.record_chat_event(user_id => $1, model => 'gpt-4o-mini', input_tokens => $2)`,
        [user, 10]);
    }
    const deadline = Date.now() + 10000;
    let mine = [];
    while (Date.now() < deadline) {
      mine = got.filter((n) => n.user_id === user);
      if (mine.length > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    check('one threshold notification', mine.length, 1);
    check('for the monthly request limit at 80 %',
      [mine[0].limit, Number(mine[0].threshold), Number(mine[0].used), Number(mine[0].limit_value)],
      ['monthly_requests', 0.8, 8, 10]);
  } finally {
    await listener.end();
  }
}

async function endUsersThroughAPool(alice, bob, via = '') {
  const check = (what, got, want) => checkAs(`${via}${what}`, got, want);
  const expectError = (what, sqlstate, fn) => expectErrorAs(`${via}${what}`, sqlstate, fn);
  // One connection, so that B's transaction reuses the one A's used.
  const pool = new Pool(via ? { max: 1, port: Number(process.env.UA_PGBOUNCER_PORT) } : { max: 1 });
  try {
    async function readAs(user, other) {
      const c = await pool.connect();
      try {
        await c.query('BEGIN');
        await c.query('SELECT analytics.act_as($1, $2)', [user, END_USER_ROLE]);
        const who = (await c.query(
          'SELECT analytics.current_user_id() AS id, current_user AS role, pg_backend_pid() AS pid')).rows[0];
        const seen = (await c.query('SELECT DISTINCT user_id FROM analytics.chat_events')).rows.map((r) => r.user_id);
        const hist = (await c.query('SELECT count(*)::int AS n FROM analytics.get_user_request_history($1, 50, 0)',
          [user])).rows[0].n;
        const otherHist = (await c.query('SELECT count(*)::int AS n FROM analytics.get_user_request_history($1, 50, 0)',
          [other])).rows[0].n;
        const quota = (await c.query('SELECT allowed FROM analytics.check_quota($1)', [user])).rows[0];
        await c.query('COMMIT');
        return { who, seen, hist, otherHist, quota };
      } catch (e) {
        await c.query('ROLLBACK');
        throw e;
      } finally {
        c.release();
      }
    }
    const pooledState = async () => (await pool.query(
      'SELECT analytics.current_user_id() AS id, current_user AS role, pg_backend_pid() AS pid')).rows[0];

    const a = await readAs(alice, bob);
    check('A: identity and end-user role for the transaction', [a.who.id, a.who.role], [alice, END_USER_ROLE]);
    check('A sees only A\'s events', a.seen, [alice]);
    check('A\'s history', a.hist > 0, true);
    check('A reads nothing of B', a.otherHist, 0);
    check('A may ask about A\'s own quota', a.quota.allowed, true);
    check('the pooled connection reused after A\'s transaction carries no identity of A',
      await pooledState(), { id: null, role: 'app', pid: a.who.pid });
    const b = await readAs(bob, alice);
    check('B got the same pooled connection', b.who.pid, a.who.pid);
    check('B: identity and end-user role', [b.who.id, b.who.role], [bob, END_USER_ROLE]);
    check('B sees only B\'s events', b.seen, [bob]);
    check('B reads nothing of A', b.otherHist, 0);
    check('nothing of B remains either', await pooledState(), { id: null, role: 'app', pid: a.who.pid });

    const c = await pool.connect();
    try {
      await c.query('BEGIN');
      await c.query('SELECT analytics.act_as($1, $2)', [alice, END_USER_ROLE]);
      await expectError('the end-user role cannot call act_as again', '42501',
        () => c.query('SELECT analytics.act_as($1, $2)', [bob, END_USER_ROLE]));
      await c.query('ROLLBACK');
      await c.query('BEGIN');
      await c.query('SELECT analytics.act_as($1, $2)', [alice, END_USER_ROLE]);
      await expectError('nor ask about another user\'s quota', '42501',
        () => c.query('SELECT * FROM analytics.check_quota($1)', [bob]));
      await c.query('ROLLBACK');
    } finally {
      c.release();
    }
    // node-pg runs each pool.query in autocommit: the setting would end with
    // the statement, so act_as refuses.
    await expectError('act_as outside a transaction block is 25P01', '25P01',
      () => pool.query('SELECT analytics.act_as($1, $2)', [alice, END_USER_ROLE]));
  } finally {
    await pool.end();
  }
}

async function main() {
  const db = new Client();       // autocommit: each statement commits
  await db.connect();
  let alice;
  let bob;
  try {
    alice = await recordWithNamedArguments(db);
    bob = await admission(db);
    await providerUsage(db);
    await thresholdNotification(db);
  } finally {
    await db.end();
  }
  await endUsersThroughAPool(alice, bob);
  if (process.env.UA_PGBOUNCER_PORT) {     // the same through PgBouncer, transaction mode
    await endUsersThroughAPool(alice, bob, 'PgBouncer: ');
  }
  console.log('example_node: all checks passed');
}

main().catch((e) => {
  console.error(`not ok - ${e.stack || e}`);
  process.exit(1);
});
