/*-------------------------------------------------------------------------
 *
 * fold.c
 *	  analytics.fold_range(lo, hi, d_from, d_to): folds the finished events
 *	  whose recorded_xid is in [lo, hi) (and, for a rebuild, whose day is in
 *	  [d_from, d_to]: the local day for per-user rollups, the UTC day for the
 *	  others) into every rollup.  Returns the number of events read.
 *
 *	  A cursor reads the batch, handing each row to fold_event() (a
 *	  DestReceiver: no copies), which aggregates every rollup in memory,
 *	  bounded by maintenance_work_mem (beyond it, what is gathered is written
 *	  and aggregation starts afresh).
 *	  Strings are interned once, so a group's key is a pointer and a day
 *	  (simplehash); a user's day holds its models, categories and distinct
 *	  sets, a UTC day the system's; a month's sketches are merged from its
 *	  days' at the end.  Then each rollup gets one statement that upserts all
 *	  of its groups from arrays, the merge rules (sums, sketch union, sorted
 *	  set union) staying in SQL.
 *
 *	  The caller (fold(), refold_range()) holds the fold state row lock, so
 *	  no other fold writes the rollups meanwhile.  Internal: not granted.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_type.h"
#include "tcop/pquery.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"
#include "guc.h"
#include "notify.h"
#include "sketch.h"

PG_FUNCTION_INFO_V1(ua_fold_range);

/* Rows read from the batch cursor between checks of the memory used. */
#define FOLD_FETCH		2000

/* The batch: columns of the query below, in order. */
enum
{
	C_USER, C_USAGE_DATE, C_UTC_DATE, C_OCCURRED_AT, C_PROVIDER, C_MODEL, C_FAILED,
	C_DOCUMENT, C_CONVERSATION, C_CATEGORY, C_INPUT, C_CACHED, C_WRITE, C_OUTPUT,
	C_REASONING, C_COST, C_SAVINGS, C_CACHE_HIT, C_LATENCY, C_TTFT, C_RATING,
	C_IN_LOCAL, C_IN_UTC, C_COUNT
};

static const char *const batch_sql =
"SELECT e.user_id, e.usage_date, (e.occurred_at AT TIME ZONE 'UTC')::pg_catalog.date, "
"       e.occurred_at, COALESCE(e.provider, ''), e.model, e.status OPERATOR(pg_catalog.=) 'failed', "
"       e.document_id, e.conversation_id, e.category, e.input_tokens, e.cached_input_tokens, "
"       e.cache_write_tokens, e.output_tokens, e.reasoning_tokens, e.cost, e.cache_savings, "
"       e.cache_hit, e.response_time_ms, e.time_to_first_token_ms, e.feedback_rating, "
"       ($3::pg_catalog.date IS NULL OR e.usage_date OPERATOR(pg_catalog.>=) $3) "
"         AND ($4::pg_catalog.date IS NULL OR e.usage_date OPERATOR(pg_catalog.<=) $4), "
"       ($3::pg_catalog.date IS NULL OR (e.occurred_at AT TIME ZONE 'UTC')::pg_catalog.date OPERATOR(pg_catalog.>=) $3) "
"         AND ($4::pg_catalog.date IS NULL OR (e.occurred_at AT TIME ZONE 'UTC')::pg_catalog.date OPERATOR(pg_catalog.<=) $4) "
"  FROM analytics.chat_events e "
" WHERE e.recorded_xid OPERATOR(pg_catalog.>=) $1 AND e.recorded_xid OPERATOR(pg_catalog.<) $2 "
"   AND e.status OPERATOR(pg_catalog.=) ANY ('{completed,failed}'::pg_catalog.text[]) "
"   AND ($3::pg_catalog.date IS NULL OR e.usage_date OPERATOR(pg_catalog.>=) $3 "
"        OR (e.occurred_at AT TIME ZONE 'UTC')::pg_catalog.date OPERATOR(pg_catalog.>=) $3) "
"   AND ($4::pg_catalog.date IS NULL OR e.usage_date OPERATOR(pg_catalog.<=) $4 "
"        OR (e.occurred_at AT TIME ZONE 'UTC')::pg_catalog.date OPERATOR(pg_catalog.<=) $4)";

/* ---------------------------------------------------------------------- */
/* Interned strings                                                        */

/*
 * Every string of the batch is stored once (an Interned), so two strings
 * are equal exactly when their Interned pointers are: group keys compare
 * and hash as plain bytes.  Each also remembers the last set of each kind
 * it was added to (most repeats are caught there, before any sort) and,
 * once the batch is read, its rank in bytewise order.
 */
enum
{
	K_USER_CONVERSATION, K_USER_DOCUMENT, K_DOCUMENT_USER, K_DOCUMENT_CONVERSATION,
	K_SYSTEM_USER, K_SYSTEM_CONVERSATION, K_SYSTEM_DOCUMENT, K_COUNT
};

struct SetAgg;

struct SweepUser;

typedef struct Interned
{
	struct SetAgg *last[K_COUNT];
	struct SweepUser *sweep;	/* a user's entry in the sweep, once looked up */
	int64		rank;
	char		text[FLEXIBLE_ARRAY_MEMBER];	/* a text datum */
} Interned;

typedef struct Str
{
	const char *p;
	uint32		len;
} Str;

typedef struct InternEntry
{
	Str			key;			/* points into obj->text once stored */
	Interned   *obj;
	uint32		hash;
	char		status;
} InternEntry;

#define SH_PREFIX		intern
#define SH_ELEMENT_TYPE InternEntry
#define SH_KEY_TYPE		Str
#define SH_KEY			key
#define SH_HASH_KEY(tb, k) hash_bytes((const unsigned char *) (k).p, (int) (k).len)
#define SH_EQUAL(tb, a, b) ((a).len == (b).len && memcmp((a).p, (b).p, (a).len) == 0)
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a) ((a)->hash)
#define SH_SCOPE		static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/* The text datum of an interned string. */
#define STR_TEXT(s)		PointerGetDatum((s)->text)

/* ---------------------------------------------------------------------- */
/* Groups                                                                  */

/*
 * A group of a hashed rollup: an interned string (or NULL) and a day.  The
 * per-user-day breakdowns (models, categories) and the system's per-day
 * models hang off their day as short lists: a user uses a few models a day.
 */
typedef struct GroupKey
{
	const Interned *id;			/* user or document; NULL for the system */
	int64		day;
} GroupKey;

typedef struct GroupEntry
{
	GroupKey	key;
	uint32		hash;
	char		status;
	void	   *agg;			/* the rollup's aggregate */
} GroupEntry;

#define SH_PREFIX		groups
#define SH_ELEMENT_TYPE GroupEntry
#define SH_KEY_TYPE		GroupKey
#define SH_KEY			key
#define SH_HASH_KEY(tb, k) hash_bytes((const unsigned char *) &(k), sizeof(GroupKey))
#define SH_EQUAL(tb, x, y) ((x).id == (y).id && (x).day == (y).day)
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a) ((a)->hash)
#define SH_SCOPE		static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/* rollup_user_monthly (and the latency part of rollup_user_daily) */
typedef struct LatencyAgg
{
	UaSketchState *latency;
	UaSketchState *ttft;
	int64		feedback_sum;
	int64		feedback_count;
} LatencyAgg;

/*
 * The head of an entry of a short list hanging off a day: its key is one or
 * two interned strings (provider and model, or category).
 */
typedef struct ListEntry
{
	struct ListEntry *next;
	const Interned *a;
	const Interned *b;
} ListEntry;

/* rollup_user_models: one provider (a) and model (b) of a user-day */
typedef struct ModelAgg
{
	ListEntry	key;
	int64		requests,
				failed,
				input,
				cached,
				write,
				output,
				reasoning,
				latency_sum,
				latency_count;
	Datum		cost;
	TimestampTz last_used;
} ModelAgg;

/* rollup_user_categories: one category (a) of a user-day */
typedef struct CategoryAgg
{
	ListEntry	key;
	int64		requests;
} CategoryAgg;

/* rollup_documents and rollup_system_models */
typedef struct UsageAgg
{
	int64		requests,
				failed,
				tokens_total,
				cached_input,
				cache_hits,
				feedback_sum,
				feedback_count;
	Datum		cost;
	Datum		savings;
	UaSketchState *latency;
} UsageAgg;

/* rollup_system_models: one provider (a) and model (b) of a UTC day */
typedef struct SystemModelAgg
{
	ListEntry	key;
	UsageAgg	usage;
} SystemModelAgg;

/*
 * A distinct set being built: items appended as they come (repeats of the
 * last set of its kind an item went to are caught at once), compacted
 * (sorted, duplicates dropped) when the array is full.  A compaction that
 * finds few duplicates skips the next two, so a set of mostly distinct
 * items is not sorted at every doubling; memory stays within a few times
 * the distinct items.
 */
typedef struct SetAgg
{
	int			n;
	int			cap;
	int			skip;			/* growths to go before compacting again */
	Interned  **items;
} SetAgg;

/* A user's local day: every per-user rollup of that day, and its month's. */
typedef struct UserDayAgg
{
	LatencyAgg	latency;
	LatencyAgg *month;
	ListEntry  *models;			/* ModelAgg */
	ListEntry  *categories;		/* CategoryAgg */
	SetAgg		conversations;
	SetAgg		documents;
} UserDayAgg;

/* A document's UTC day */
typedef struct DocumentAgg
{
	UsageAgg	usage;
	SetAgg		users;
	SetAgg		conversations;
} DocumentAgg;

/* The system's UTC day */
typedef struct SystemDayAgg
{
	ListEntry  *models;			/* SystemModelAgg */
	SetAgg		users;
	SetAgg		conversations;
	SetAgg		documents;
} SystemDayAgg;

typedef struct Fold
{
	MemoryContext cxt;			/* everything below lives here */
	MemoryContext row_cxt;		/* one event's temporary work */
	MemoryContext write_cxt;	/* the arrays of one flush */
	Oid			sketch_type;	/* analytics.latency_sketch */
	Oid			distinct_type;	/* analytics.rollup_distinct (row type) */
	intern_hash *strings;
	Interned   *recent[3];		/* last provider, model, category */
	groups_hash *user_days;
	groups_hash *user_months;
	groups_hash *documents;
	groups_hash *system_days;
	SystemDayAgg *last_system_day;
	int64		last_utc_day;
	int			n_models;		/* rows of each list-kept rollup */
	int			n_categories;
	int			n_system_models;
	HTAB	   *sweep;			/* SweepUser by user; NULL: no sweep (a rebuild) */
	MemoryContext sweep_cxt;	/* the sweep's keys */
	TimestampTz sweep_from;		/* events before this are not swept */
} Fold;

/*
 * The threshold sweep: every user of the batch with an event of the last
 * day, and the latest such event's time.  Survives the early writes (the
 * interned strings do not: each remembers its entry until then).
 */
typedef struct SweepUser
{
	text	   *user;			/* key: compared by content */
	TimestampTz at;
} SweepUser;

static uint32
sweep_hash(const void *key, Size keysize)
{
	const text *t = *(text *const *) key;

	return hash_bytes((const unsigned char *) VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
}

static int
sweep_match(const void *a, const void *b, Size keysize)
{
	const text *x = *(text *const *) a;
	const text *y = *(text *const *) b;

	return VARSIZE_ANY_EXHDR(x) == VARSIZE_ANY_EXHDR(y) &&
		memcmp(VARDATA_ANY(x), VARDATA_ANY(y), VARSIZE_ANY_EXHDR(x)) == 0 ? 0 : 1;
}

static void
sweep_add(Fold *f, Interned *user, TimestampTz at)
{
	if (user->sweep == NULL)
	{
		text	   *key = (text *) user->text;
		bool		found;
		SweepUser  *e = hash_search(f->sweep, &key, HASH_ENTER, &found);

		if (!found)
		{
			/* The key must outlive the interned string. */
			e->user = MemoryContextAlloc(f->sweep_cxt, VARSIZE(key));
			memcpy(e->user, key, VARSIZE(key));
			e->at = at;
		}
		user->sweep = e;
	}
	if (at > user->sweep->at)
		user->sweep->at = at;
}

static Interned *
intern(Fold *f, Datum d)
{
	text	   *t = (text *) pg_detoast_datum_packed((struct varlena *) DatumGetPointer(d));
	Str			k = {VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)};
	bool		found;
	InternEntry *e = intern_insert(f->strings, k, &found);

	if (!found)
	{
		Interned   *obj = MemoryContextAllocZero(f->cxt, offsetof(Interned, text) + VARHDRSZ + k.len);

		SET_VARSIZE(obj->text, VARHDRSZ + k.len);
		memcpy(VARDATA(obj->text), k.p, k.len);
		obj->rank = (int64) (uintptr_t) obj;
		e->obj = obj;
		e->key.p = VARDATA(obj->text);
	}
	return e->obj;
}

/* intern() for columns with few values: the last one is checked first. */
static Interned *
intern_recent(Fold *f, int which, Datum d)
{
	text	   *t = (text *) pg_detoast_datum_packed((struct varlena *) DatumGetPointer(d));
	Interned   *last = f->recent[which];

	if (last == NULL || VARSIZE(last->text) - VARHDRSZ != VARSIZE_ANY_EXHDR(t) ||
		memcmp(VARDATA(last->text), VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)) != 0)
		f->recent[which] = last = intern(f, PointerGetDatum(t));
	return last;
}

/* The aggregate of a group, zeroed when new. */
static void *
group(Fold *f, groups_hash *h, const Interned *id, int64 day, Size size, bool *is_new)
{
	GroupKey	k;
	bool		found;
	GroupEntry *e;

	k.id = id;
	k.day = day;
	e = groups_insert(h, k, &found);
	if (!found)
		e->agg = MemoryContextAllocZero(f->cxt, size);
	if (is_new)
		*is_new = !found;
	return e->agg;
}

static UaSketchState *
new_sketch(Fold *f)
{
	MemoryContext old = MemoryContextSwitchTo(f->cxt);
	UaSketchState *st = ua_sketch_state_new();

	MemoryContextSwitchTo(old);
	return st;
}

/* sum += v for numeric sums kept in the fold context (work in the row's). */
static void
add_numeric(Fold *f, Datum *sum, Datum v)
{
	Datum		result = *sum == (Datum) 0 ? v : DirectFunctionCall2(numeric_add, *sum, v);
	MemoryContext old = MemoryContextSwitchTo(f->cxt);

	if (*sum != (Datum) 0)
		pfree(DatumGetPointer(*sum));
	*sum = datumCopy(result, false, -1);
	MemoryContextSwitchTo(old);
}

static int
rank_cmp(const void *x, const void *y)
{
	int64		a = (*(Interned *const *) x)->rank;
	int64		b = (*(Interned *const *) y)->rank;

	return (a > b) - (a < b);
}

/* Sort (by address while reading, by rank at the end) and drop duplicates. */
static void
set_compact(SetAgg *set)
{
	int			i,
				k = 0;

	qsort(set->items, set->n, sizeof(Interned *), rank_cmp);
	for (i = 0; i < set->n; i++)
		if (k == 0 || set->items[k - 1] != set->items[i])
			set->items[k++] = set->items[i];
	set->n = k;
}

static void
set_add(Fold *f, SetAgg *set, int kind, Interned *item)
{
	if (item == NULL || item->last[kind] == set)
		return;
	item->last[kind] = set;
	if (set->n == set->cap)
	{
		if (set->n >= 64 && set->skip > 0)
			set->skip--;
		else if (set->n >= 64)
		{
			set_compact(set);
			set->skip = set->n > set->cap - set->cap / 4 ? 2 : 0;
		}
		if (set->cap == 0 || set->n > set->cap / 2)
		{
			set->cap = set->cap == 0 ? 4 : set->cap * 2;
			set->items = set->items == NULL
				? MemoryContextAlloc(f->cxt, set->cap * sizeof(Interned *))
				: repalloc(set->items, set->cap * sizeof(Interned *));
		}
	}
	set->items[set->n++] = item;
}

/*
 * Rank every interned string in bytewise order (text_set_union's order).
 * While reading, ranks are the strings' addresses: any order dedupes.
 */
static int
text_cmp(const void *x, const void *y)
{
	const Interned *a = *(Interned *const *) x;
	const Interned *b = *(Interned *const *) y;
	int			la = VARSIZE(a->text) - VARHDRSZ;
	int			lb = VARSIZE(b->text) - VARHDRSZ;
	int			c = memcmp(VARDATA(a->text), VARDATA(b->text), Min(la, lb));

	return c != 0 ? c : (la > lb) - (la < lb);
}

static void
rank_strings(Fold *f)
{
	Interned  **all = palloc(sizeof(Interned *) * Max(f->strings->members, 1));
	intern_iterator it;
	InternEntry *e;
	uint32		n = 0,
				i;

	intern_start_iterate(f->strings, &it);
	while ((e = intern_iterate(f->strings, &it)) != NULL)
		all[n++] = e->obj;
	qsort(all, n, sizeof(Interned *), text_cmp);
	for (i = 0; i < n; i++)
		all[i]->rank = i;
	pfree(all);
}

/* First day of the month of a date. */
static int32
month_of(int32 day)
{
	int			y,
				m,
				d;

	j2date(day + POSTGRES_EPOCH_JDATE, &y, &m, &d);
	return date2j(y, m, 1) - POSTGRES_EPOCH_JDATE;
}

/* The entry (a, b) of a day's list, zeroed and counted when new. */
static void *
list_entry(Fold *f, ListEntry **head, const Interned *a, const Interned *b, Size size, int *count)
{
	ListEntry  *e;

	for (e = *head; e != NULL; e = e->next)
		if (e->a == a && e->b == b)
			return e;
	e = MemoryContextAllocZero(f->cxt, size);
	e->a = a;
	e->b = b;
	e->next = *head;
	*head = e;
	(*count)++;
	return e;
}

static UserDayAgg *
user_day(Fold *f, Interned *user, int32 day)
{
	bool		is_new;
	UserDayAgg *a = group(f, f->user_days, user, day, sizeof(UserDayAgg), &is_new);

	if (is_new)
		a->month = group(f, f->user_months, user, month_of(day), sizeof(LatencyAgg), NULL);
	return a;
}

static SystemDayAgg *
system_day(Fold *f, int32 day)
{
	if (f->last_system_day == NULL || f->last_utc_day != day)
	{
		f->last_system_day = group(f, f->system_days, NULL, day, sizeof(SystemDayAgg), NULL);
		f->last_utc_day = day;
	}
	return f->last_system_day;
}

static void
add_usage(Fold *f, UsageAgg *u, Datum *v, bool *n, bool failed, int64 tokens_total, int64 rating)
{
	u->requests++;
	u->failed += failed;
	u->tokens_total += tokens_total;
	u->cache_hits += DatumGetBool(v[C_CACHE_HIT]);
	add_numeric(f, &u->cost, v[C_COST]);
	u->feedback_sum += rating;
	u->feedback_count += !n[C_RATING];
	if (!n[C_LATENCY] && u->latency == NULL)
		u->latency = new_sketch(f);
}

#define INT(col)	((int64) DatumGetInt32(v[col]))

/* Add one event of the batch to every rollup it belongs to. */
static void
fold_event(Fold *f, Datum *v, bool *n)
{
	Interned   *user = intern(f, v[C_USER]);
	Interned   *provider = intern_recent(f, 0, v[C_PROVIDER]);
	Interned   *model = intern_recent(f, 1, v[C_MODEL]);
	Interned   *document = n[C_DOCUMENT] ? NULL : intern(f, v[C_DOCUMENT]);
	Interned   *conversation = n[C_CONVERSATION] ? NULL : intern(f, v[C_CONVERSATION]);
	bool		failed = DatumGetBool(v[C_FAILED]);
	int64		rating = n[C_RATING] ? 0 : DatumGetInt16(v[C_RATING]);
	int64		tokens_total = INT(C_INPUT) + INT(C_CACHED) + INT(C_WRITE) + INT(C_OUTPUT);
	UaSketchState *latency[3] = {NULL, NULL, NULL};

	if (f->sweep != NULL && DatumGetTimestampTz(v[C_OCCURRED_AT]) >= f->sweep_from)
		sweep_add(f, user, DatumGetTimestampTz(v[C_OCCURRED_AT]));

	if (DatumGetBool(v[C_IN_LOCAL]))
	{
		UserDayAgg *day = user_day(f, user, DatumGetDateADT(v[C_USAGE_DATE]));
		ModelAgg   *m = list_entry(f, &day->models, provider, model, sizeof(ModelAgg), &f->n_models);
		TimestampTz at = DatumGetTimestampTz(v[C_OCCURRED_AT]);

		/* The month's sketches are the union of its days', made at the end. */
		if (!n[C_LATENCY] && day->latency.latency == NULL)
			day->latency.latency = new_sketch(f);
		latency[0] = day->latency.latency;
		if (!n[C_TTFT])
		{
			if (day->latency.ttft == NULL)
				day->latency.ttft = new_sketch(f);
			ua_sketch_states_add(&day->latency.ttft, 1, (float8) DatumGetInt32(v[C_TTFT]));
		}
		day->latency.feedback_sum += rating;
		day->latency.feedback_count += !n[C_RATING];
		day->month->feedback_sum += rating;
		day->month->feedback_count += !n[C_RATING];

		m->requests++;
		m->failed += failed;
		m->input += INT(C_INPUT);
		m->cached += INT(C_CACHED);
		m->write += INT(C_WRITE);
		m->output += INT(C_OUTPUT);
		m->reasoning += INT(C_REASONING);
		add_numeric(f, &m->cost, v[C_COST]);
		if (!n[C_LATENCY])
		{
			m->latency_sum += INT(C_LATENCY);
			m->latency_count++;
		}
		if (m->requests == 1 || at > m->last_used)
			m->last_used = at;

		if (!n[C_CATEGORY])
			((CategoryAgg *) list_entry(f, &day->categories, intern_recent(f, 2, v[C_CATEGORY]), NULL,
										sizeof(CategoryAgg), &f->n_categories))->requests++;
		set_add(f, &day->conversations, K_USER_CONVERSATION, conversation);
		set_add(f, &day->documents, K_USER_DOCUMENT, document);
	}

	if (DatumGetBool(v[C_IN_UTC]))
	{
		int32		utc_day = DatumGetDateADT(v[C_UTC_DATE]);
		SystemDayAgg *sd = system_day(f, utc_day);
		SystemModelAgg *s = list_entry(f, &sd->models, provider, model, sizeof(SystemModelAgg),
									   &f->n_system_models);

		add_usage(f, &s->usage, v, n, failed, tokens_total, rating);
		s->usage.cached_input += INT(C_CACHED);
		if (!n[C_SAVINGS])
			add_numeric(f, &s->usage.savings, v[C_SAVINGS]);
		latency[1] = s->usage.latency;
		if (document != NULL)
		{
			DocumentAgg *d = group(f, f->documents, document, utc_day, sizeof(DocumentAgg), NULL);

			add_usage(f, &d->usage, v, n, failed, tokens_total, rating);
			latency[2] = d->usage.latency;
			set_add(f, &d->users, K_DOCUMENT_USER, user);
			set_add(f, &d->conversations, K_DOCUMENT_CONVERSATION, conversation);
		}
		set_add(f, &sd->users, K_SYSTEM_USER, user);
		set_add(f, &sd->conversations, K_SYSTEM_CONVERSATION, conversation);
		set_add(f, &sd->documents, K_SYSTEM_DOCUMENT, document);
	}

	if (!n[C_LATENCY])
		ua_sketch_states_add(latency, 3, (float8) DatumGetInt32(v[C_LATENCY]));
}

/* The cursor's rows go straight from the executor to fold_event (no copies). */
typedef struct FoldReceiver
{
	DestReceiver pub;
	Fold	   *fold;
} FoldReceiver;

static bool
fold_receive(TupleTableSlot *slot, DestReceiver *self)
{
	Fold	   *f = ((FoldReceiver *) self)->fold;
	MemoryContext old = MemoryContextSwitchTo(f->row_cxt);

	slot_getallattrs(slot);
	fold_event(f, slot->tts_values, slot->tts_isnull);
	MemoryContextSwitchTo(old);
	MemoryContextReset(f->row_cxt);
	return true;
}

static void
fold_receiver_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
	if (typeinfo->natts != C_COUNT)
		elog(ERROR, "usage_analytics: fold batch has %d columns, expected %d",
			 typeinfo->natts, C_COUNT);
}

static void
fold_receiver_noop(DestReceiver *self)
{
}

/* ---------------------------------------------------------------------- */
/* Writing the rollups                                                     */

/* Column arrays of one upsert: values and nulls per column, one row each group. */
typedef struct Columns
{
	int			ncols;
	int			nrows;
	Oid			types[16];		/* element types */
	Datum	   *values[16];
	bool	   *nulls[16];
} Columns;

static void
columns_init(Columns *cols, int nrows, int ncols, const Oid *types)
{
	int			i;

	cols->ncols = ncols;
	cols->nrows = nrows;
	for (i = 0; i < ncols; i++)
	{
		cols->types[i] = types[i];
		cols->values[i] = palloc(sizeof(Datum) * Max(nrows, 1));
		cols->nulls[i] = palloc0(sizeof(bool) * Max(nrows, 1));
	}
}

static void
put(Columns *cols, int row, int col, Datum v)
{
	cols->values[col][row] = v;
}

static void
put_sketch(Columns *cols, int row, int col, const UaSketchState *st)
{
	if (st == NULL)
		cols->nulls[col][row] = true;
	else
		cols->values[col][row] = ua_sketch_state_datum(st);
}

static void
put_numeric(Columns *cols, int row, int col, Datum sum)
{
	cols->values[col][row] = sum != (Datum) 0 ? sum
		: DirectFunctionCall1(int8_numeric, Int64GetDatum(0));
}

/* Run one upsert: $1..$ncols are the columns as arrays. */
static void
upsert(const char *sql, Columns *cols)
{
	Datum		args[16];
	Oid			argtypes[16];
	int			dims[1] = {cols->nrows};
	int			lbs[1] = {1};
	int			i;
	int			rc;
	TimestampTz started;

	if (cols->nrows == 0)
		return;
	for (i = 0; i < cols->ncols; i++)
	{
		int16		len;
		bool		byval;
		char		align;

		get_typlenbyvalalign(cols->types[i], &len, &byval, &align);
		args[i] = PointerGetDatum(construct_md_array(cols->values[i], cols->nulls[i], 1, dims, lbs,
													 cols->types[i], len, byval, align));
		argtypes[i] = get_array_type(cols->types[i]);
	}
	started = GetCurrentTimestamp();
	rc = SPI_execute_with_args(sql, cols->ncols, argtypes, args, NULL, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "usage_analytics: fold upsert failed: %s", SPI_result_code_string(rc));
	elog(DEBUG1, "usage_analytics fold: %d rows upserted in %.1f ms: %.60s", cols->nrows,
		 (double) (GetCurrentTimestamp() - started) / 1000.0, sql);
}

/* ROWS FROM (unnest($1), ..., unnest($n)): the columns of an upsert. */
#define U(i)			"pg_catalog.unnest($" #i ")"
#define UNNEST4			U(1) ", " U(2) ", " U(3) ", " U(4)
#define UNNEST6			UNNEST4 ", " U(5) ", " U(6)
#define UNNEST10		UNNEST6 ", " U(7) ", " U(8) ", " U(9) ", " U(10)
#define UNNEST13		UNNEST10 ", " U(11) ", " U(12) ", " U(13)
#define UNNEST15		UNNEST13 ", " U(14) ", " U(15)

#define SKETCH_MERGE(col) \
	col " = analytics.latency_sketch_union(r." col ", EXCLUDED." col ")"
#define ADD(col)		col " = r." col " OPERATOR(pg_catalog.+) EXCLUDED." col

#define LATENCY_UPSERT(table, day) \
	"INSERT INTO analytics." table " AS r (user_id, " day ", latency, ttft, feedback_sum, feedback_count) " \
	"SELECT * FROM ROWS FROM (" UNNEST6 ") " \
	"ON CONFLICT (user_id, " day ") DO UPDATE SET " SKETCH_MERGE("latency") ", " SKETCH_MERGE("ttft") ", " \
	ADD("feedback_sum") ", " ADD("feedback_count")

/* A month's sketches: the union of its days' in this batch. */
static void
merge_months(Fold *f)
{
	groups_iterator it;
	GroupEntry *e;

	groups_start_iterate(f->user_days, &it);
	while ((e = groups_iterate(f->user_days, &it)) != NULL)
	{
		UserDayAgg *day = e->agg;
		UaSketchState *from[2] = {day->latency.latency, day->latency.ttft};
		UaSketchState **to[2] = {&day->month->latency, &day->month->ttft};
		int			i;

		for (i = 0; i < 2; i++)
		{
			if (from[i] == NULL)
				continue;
			if (*to[i] == NULL)
				*to[i] = new_sketch(f);
			ua_sketch_state_merge(*to[i], from[i]);
		}
	}
}

/* user_days (UserDayAgg starts with its LatencyAgg) or user_months */
static void
write_latency(groups_hash *h, const char *sql, Oid sketch_type)
{
	Oid			types[6] = {TEXTOID, DATEOID, sketch_type, sketch_type, INT8OID, INT8OID};
	Columns		cols;
	groups_iterator it;
	GroupEntry *e;
	int			row = 0;

	columns_init(&cols, h->members, 6, types);
	groups_start_iterate(h, &it);
	while ((e = groups_iterate(h, &it)) != NULL)
	{
		LatencyAgg *a = e->agg;

		put(&cols, row, 0, STR_TEXT(e->key.id));
		put(&cols, row, 1, DateADTGetDatum(e->key.day));
		put_sketch(&cols, row, 2, a->latency);
		put_sketch(&cols, row, 3, a->ttft);
		put(&cols, row, 4, Int64GetDatum(a->feedback_sum));
		put(&cols, row, 5, Int64GetDatum(a->feedback_count));
		row++;
	}
	upsert(sql, &cols);
}

static void
write_models(Fold *f)
{
	static const Oid types[15] = {TEXTOID, DATEOID, TEXTOID, TEXTOID, INT8OID, INT8OID, INT8OID,
		INT8OID, INT8OID, INT8OID, INT8OID, NUMERICOID, INT8OID, INT8OID, TIMESTAMPTZOID};
	Columns		cols;
	groups_iterator it;
	GroupEntry *e;
	int			row = 0;

	columns_init(&cols, f->n_models, 15, types);
	groups_start_iterate(f->user_days, &it);
	while ((e = groups_iterate(f->user_days, &it)) != NULL)
	{
		ListEntry  *l;

		for (l = ((UserDayAgg *) e->agg)->models; l != NULL; l = l->next)
		{
			ModelAgg   *a = (ModelAgg *) l;

			put(&cols, row, 0, STR_TEXT(e->key.id));
			put(&cols, row, 1, DateADTGetDatum(e->key.day));
			put(&cols, row, 2, STR_TEXT(l->a));
			put(&cols, row, 3, STR_TEXT(l->b));
			put(&cols, row, 4, Int64GetDatum(a->requests));
			put(&cols, row, 5, Int64GetDatum(a->failed));
			put(&cols, row, 6, Int64GetDatum(a->input));
			put(&cols, row, 7, Int64GetDatum(a->cached));
			put(&cols, row, 8, Int64GetDatum(a->write));
			put(&cols, row, 9, Int64GetDatum(a->output));
			put(&cols, row, 10, Int64GetDatum(a->reasoning));
			put_numeric(&cols, row, 11, a->cost);
			put(&cols, row, 12, Int64GetDatum(a->latency_sum));
			put(&cols, row, 13, Int64GetDatum(a->latency_count));
			put(&cols, row, 14, TimestampTzGetDatum(a->last_used));
			row++;
		}
	}
	upsert("INSERT INTO analytics.rollup_user_models AS r "
		   "  (user_id, usage_date, provider, model, requests, failed, input_tokens, cached_input_tokens, "
		   "   cache_write_tokens, output_tokens, reasoning_tokens, cost, latency_sum, latency_count, last_used) "
		   "SELECT * FROM ROWS FROM (" UNNEST15 ") "
		   "ON CONFLICT (user_id, usage_date, provider, model) DO UPDATE SET "
		   ADD("requests") ", " ADD("failed") ", " ADD("input_tokens") ", " ADD("cached_input_tokens") ", "
		   ADD("cache_write_tokens") ", " ADD("output_tokens") ", " ADD("reasoning_tokens") ", "
		   ADD("cost") ", " ADD("latency_sum") ", " ADD("latency_count") ", "
		   "last_used = GREATEST(r.last_used, EXCLUDED.last_used)", &cols);
}

static void
write_documents(Fold *f, Oid sketch_type)
{
	Oid			types[10] = {TEXTOID, DATEOID, INT8OID, INT8OID, INT8OID, NUMERICOID, INT8OID,
		sketch_type, INT8OID, INT8OID};
	Columns		cols;
	groups_iterator it;
	GroupEntry *e;
	int			row = 0;

	columns_init(&cols, f->documents->members, 10, types);
	groups_start_iterate(f->documents, &it);
	while ((e = groups_iterate(f->documents, &it)) != NULL)
	{
		UsageAgg   *a = &((DocumentAgg *) e->agg)->usage;

		put(&cols, row, 0, STR_TEXT(e->key.id));
		put(&cols, row, 1, DateADTGetDatum(e->key.day));
		put(&cols, row, 2, Int64GetDatum(a->requests));
		put(&cols, row, 3, Int64GetDatum(a->failed));
		put(&cols, row, 4, Int64GetDatum(a->tokens_total));
		put_numeric(&cols, row, 5, a->cost);
		put(&cols, row, 6, Int64GetDatum(a->cache_hits));
		put_sketch(&cols, row, 7, a->latency);
		put(&cols, row, 8, Int64GetDatum(a->feedback_sum));
		put(&cols, row, 9, Int64GetDatum(a->feedback_count));
		row++;
	}
	upsert("INSERT INTO analytics.rollup_documents AS r "
		   "  (document_id, usage_date, requests, failed, tokens_total, cost, cache_hits, latency, "
		   "   feedback_sum, feedback_count) "
		   "SELECT * FROM ROWS FROM (" UNNEST10 ") "
		   "ON CONFLICT (document_id, usage_date) DO UPDATE SET "
		   ADD("requests") ", " ADD("failed") ", " ADD("tokens_total") ", " ADD("cost") ", "
		   ADD("cache_hits") ", " SKETCH_MERGE("latency") ", " ADD("feedback_sum") ", "
		   ADD("feedback_count"), &cols);
}

static void
write_system_models(Fold *f, Oid sketch_type)
{
	Oid			types[13] = {DATEOID, TEXTOID, TEXTOID, INT8OID, INT8OID, INT8OID, INT8OID, INT8OID,
		NUMERICOID, NUMERICOID, sketch_type, INT8OID, INT8OID};
	Columns		cols;
	groups_iterator it;
	GroupEntry *e;
	int			row = 0;

	columns_init(&cols, f->n_system_models, 13, types);
	groups_start_iterate(f->system_days, &it);
	while ((e = groups_iterate(f->system_days, &it)) != NULL)
	{
		ListEntry  *l;

		for (l = ((SystemDayAgg *) e->agg)->models; l != NULL; l = l->next)
		{
			UsageAgg   *a = &((SystemModelAgg *) l)->usage;

			put(&cols, row, 0, DateADTGetDatum(e->key.day));
			put(&cols, row, 1, STR_TEXT(l->a));
			put(&cols, row, 2, STR_TEXT(l->b));
			put(&cols, row, 3, Int64GetDatum(a->requests));
			put(&cols, row, 4, Int64GetDatum(a->failed));
			put(&cols, row, 5, Int64GetDatum(a->tokens_total));
			put(&cols, row, 6, Int64GetDatum(a->cached_input));
			put(&cols, row, 7, Int64GetDatum(a->cache_hits));
			put_numeric(&cols, row, 8, a->cost);
			put_numeric(&cols, row, 9, a->savings);
			put_sketch(&cols, row, 10, a->latency);
			put(&cols, row, 11, Int64GetDatum(a->feedback_sum));
			put(&cols, row, 12, Int64GetDatum(a->feedback_count));
			row++;
		}
	}
	upsert("INSERT INTO analytics.rollup_system_models AS r "
		   "  (usage_date, provider, model, requests, failed, tokens_total, cached_input_tokens, "
		   "   cache_hits, cost, cache_savings, latency, feedback_sum, feedback_count) "
		   "SELECT * FROM ROWS FROM (" UNNEST13 ") "
		   "ON CONFLICT (usage_date, provider, model) DO UPDATE SET "
		   ADD("requests") ", " ADD("failed") ", " ADD("tokens_total") ", " ADD("cached_input_tokens") ", "
		   ADD("cache_hits") ", " ADD("cost") ", " ADD("cache_savings") ", " SKETCH_MERGE("latency") ", "
		   ADD("feedback_sum") ", " ADD("feedback_count"), &cols);
}

static void
write_categories(Fold *f)
{
	static const Oid types[4] = {TEXTOID, DATEOID, TEXTOID, INT8OID};
	Columns		cols;
	groups_iterator it;
	GroupEntry *e;
	int			row = 0;

	columns_init(&cols, f->n_categories, 4, types);
	groups_start_iterate(f->user_days, &it);
	while ((e = groups_iterate(f->user_days, &it)) != NULL)
	{
		ListEntry  *l;

		for (l = ((UserDayAgg *) e->agg)->categories; l != NULL; l = l->next)
		{
			put(&cols, row, 0, STR_TEXT(e->key.id));
			put(&cols, row, 1, DateADTGetDatum(e->key.day));
			put(&cols, row, 2, STR_TEXT(l->a));
			put(&cols, row, 3, Int64GetDatum(((CategoryAgg *) l)->requests));
			row++;
		}
	}
	upsert("INSERT INTO analytics.rollup_user_categories AS r (user_id, usage_date, category, requests) "
		   "SELECT * FROM ROWS FROM (" UNNEST4 ") "
		   "ON CONFLICT (user_id, usage_date, category) DO UPDATE SET " ADD("requests"), &cols);
}

/*
 * rollup_distinct: sets have different lengths, so they travel as one array
 * of analytics.rollup_distinct rows, each carrying its items.
 */
typedef struct SetRows
{
	TupleDesc	desc;
	Columns		cols;
} SetRows;

/* One row: the set's items sorted bytewise (text_set_union's order). */
static void
set_row(SetRows *rows, const char *scope, Datum scope_id, int32 day, SetAgg *set)
{
	Datum		v[4];
	bool		n[4] = {false, false, false, false};

	Datum	   *items;
	int			i;

	if (set->n == 0)
		return;
	set_compact(set);
	items = palloc(sizeof(Datum) * set->n);
	for (i = 0; i < set->n; i++)
		items[i] = STR_TEXT(set->items[i]);
	v[0] = CStringGetTextDatum(scope);
	v[1] = scope_id;
	v[2] = DateADTGetDatum(day);
	v[3] = PointerGetDatum(construct_array(items, set->n, TEXTOID, -1, false, TYPALIGN_INT));
	put(&rows->cols, rows->cols.nrows++, 0, HeapTupleGetDatum(heap_form_tuple(rows->desc, v, n)));
}

static void
write_distinct(Fold *f, Oid row_type)
{
	SetRows		rows;
	groups_iterator it;
	GroupEntry *e;
	Datum		empty = CStringGetTextDatum("");

	rows.desc = lookup_rowtype_tupdesc_copy(row_type, -1);
	columns_init(&rows.cols, 2 * f->user_days->members + 2 * f->documents->members +
				 3 * f->system_days->members, 1, &row_type);
	rows.cols.nrows = 0;

	groups_start_iterate(f->user_days, &it);
	while ((e = groups_iterate(f->user_days, &it)) != NULL)
	{
		UserDayAgg *a = e->agg;

		set_row(&rows, "user_conversation", STR_TEXT(e->key.id), e->key.day, &a->conversations);
		set_row(&rows, "user_document", STR_TEXT(e->key.id), e->key.day, &a->documents);
	}
	groups_start_iterate(f->documents, &it);
	while ((e = groups_iterate(f->documents, &it)) != NULL)
	{
		DocumentAgg *a = e->agg;

		set_row(&rows, "document_user", STR_TEXT(e->key.id), e->key.day, &a->users);
		set_row(&rows, "document_conversation", STR_TEXT(e->key.id), e->key.day, &a->conversations);
	}
	groups_start_iterate(f->system_days, &it);
	while ((e = groups_iterate(f->system_days, &it)) != NULL)
	{
		SystemDayAgg *a = e->agg;

		set_row(&rows, "system_user", empty, e->key.day, &a->users);
		set_row(&rows, "system_conversation", empty, e->key.day, &a->conversations);
		set_row(&rows, "system_document", empty, e->key.day, &a->documents);
	}
	upsert("INSERT INTO analytics.rollup_distinct AS r (scope, scope_id, usage_date, items) "
		   "SELECT u.scope, u.scope_id, u.usage_date, u.items FROM pg_catalog.unnest($1) AS u "
		   "ON CONFLICT (scope, scope_id, usage_date) DO UPDATE SET "
		   "items = analytics.text_set_union(r.items, EXCLUDED.items)", &rows.cols);
}

/* The OID of a type of schema analytics. */
static Oid
analytics_type(const char *name)
{
	TypeName   *tn = makeTypeNameFromNameList(list_make2(makeString("analytics"),
														 makeString(unconstify(char *, name))));

	return typenameTypeId(NULL, tn);
}

/* Empty aggregates in a fresh context. */
static void
fold_start(Fold *f, MemoryContext parent)
{
	f->cxt = AllocSetContextCreate(parent, "usage_analytics fold", ALLOCSET_DEFAULT_SIZES);
	f->row_cxt = AllocSetContextCreate(f->cxt, "usage_analytics fold row", ALLOCSET_SMALL_SIZES);
	memset(f->recent, 0, sizeof(f->recent));
	f->strings = intern_create(f->cxt, 1024, NULL);
	f->user_days = groups_create(f->cxt, 1024, NULL);
	f->user_months = groups_create(f->cxt, 256, NULL);
	f->documents = groups_create(f->cxt, 256, NULL);
	f->system_days = groups_create(f->cxt, 64, NULL);
	f->last_system_day = NULL;
	f->last_utc_day = 0;
	f->n_models = f->n_categories = f->n_system_models = 0;
}

/* Write every rollup: one upsert each, its arrays in write_cxt. */
static void
fold_flush(Fold *f)
{
	MemoryContext old = MemoryContextSwitchTo(f->write_cxt);

	rank_strings(f);
	merge_months(f);
	write_latency(f->user_days, LATENCY_UPSERT("rollup_user_daily", "usage_date"), f->sketch_type);
	write_latency(f->user_months, LATENCY_UPSERT("rollup_user_monthly", "month"), f->sketch_type);
	write_models(f);
	write_documents(f, f->sketch_type);
	write_system_models(f, f->sketch_type);
	write_categories(f);
	write_distinct(f, f->distinct_type);
	MemoryContextSwitchTo(old);
	MemoryContextReset(f->write_cxt);
}

/*
 * The batch is read through a cursor.  When the aggregates outgrow
 * maintenance_work_mem they are written and started afresh: every merge is
 * a sum or a union, so the rollups end the same, only written more than
 * once.
 */
Datum
ua_fold_range(PG_FUNCTION_ARGS)
{
	Oid			argtypes[4] = {INT8OID, INT8OID, DATEOID, DATEOID};
	Datum		args[4];
	char		nulls[4];
	Fold		f;
	MemoryContext caller = CurrentMemoryContext;
	SPIPlanPtr	plan;
	Portal		cursor;
	FoldReceiver receiver;
	int64		events = 0;
	int			flushes = 0;
	TimestampTz started = GetCurrentTimestamp();
	int			i;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("fold_range needs both transaction id bounds")));
	for (i = 0; i < 4; i++)
	{
		args[i] = PG_GETARG_DATUM(i);
		nulls[i] = PG_ARGISNULL(i) ? 'n' : ' ';
	}

	SPI_connect();
	f.sketch_type = analytics_type("latency_sketch");
	f.distinct_type = analytics_type("rollup_distinct");
	f.write_cxt = AllocSetContextCreate(caller, "usage_analytics fold write", ALLOCSET_DEFAULT_SIZES);
	fold_start(&f, caller);
	f.sweep = NULL;
	f.sweep_cxt = caller;
	f.sweep_from = GetCurrentTransactionStartTimestamp() - USECS_PER_DAY;
	if (PG_ARGISNULL(2) && PG_ARGISNULL(3) && ua_notify_enabled)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(text *);
		ctl.entrysize = sizeof(SweepUser);
		ctl.hash = sweep_hash;
		ctl.match = sweep_match;
		ctl.hcxt = caller;
		f.sweep = hash_create("usage_analytics threshold sweep", 256, &ctl,
							  HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);
	}

	plan = SPI_prepare(batch_sql, 4, argtypes);
	if (plan == NULL)
		elog(ERROR, "usage_analytics: SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	cursor = SPI_cursor_open(NULL, plan, args, nulls, true);
	memset(&receiver, 0, sizeof(receiver));
	receiver.pub.receiveSlot = fold_receive;
	receiver.pub.rStartup = fold_receiver_startup;
	receiver.pub.rShutdown = fold_receiver_noop;
	receiver.pub.rDestroy = fold_receiver_noop;
	receiver.pub.mydest = DestNone;
	receiver.fold = &f;
	for (;;)
	{
		uint64		fetched = PortalRunFetch(cursor, FETCH_FORWARD, FOLD_FETCH, &receiver.pub);

		if (fetched == 0)
			break;
		events += fetched;
		if (MemoryContextMemAllocated(f.cxt, true) > (Size) maintenance_work_mem * 1024)
		{
			fold_flush(&f);
			MemoryContextDelete(f.cxt);
			fold_start(&f, caller);
			flushes++;
		}
	}
	SPI_cursor_close(cursor);
	fold_flush(&f);

	/*
	 * Thresholds the batch's writers reached together without any of them
	 * seeing it (notify.c): each user's periods at its latest event (not
	 * after now), as everything committed so far has it.
	 */
	if (f.sweep != NULL)
	{
		MemoryContext each = AllocSetContextCreate(caller, "usage_analytics threshold sweep",
												   ALLOCSET_DEFAULT_SIZES);
		TimestampTz now = GetCurrentTransactionStartTimestamp();
		HASH_SEQ_STATUS seq;
		SweepUser  *e;

		hash_seq_init(&seq, f.sweep);
		while ((e = hash_seq_search(&seq)) != NULL)
		{
			MemoryContext old = MemoryContextSwitchTo(each);

			CHECK_FOR_INTERRUPTS();
			ua_notify_at(PointerGetDatum(e->user), Min(e->at, now));
			MemoryContextSwitchTo(old);
			MemoryContextReset(each);
		}
		MemoryContextDelete(each);
		hash_destroy(f.sweep);
	}
	elog(DEBUG1, "usage_analytics fold: " INT64_FORMAT " events in %.1f ms, %d early writes",
		 events, (double) (GetCurrentTimestamp() - started) / 1000.0, flushes);

	SPI_finish();
	MemoryContextDelete(f.cxt);
	MemoryContextDelete(f.write_cxt);
	PG_RETURN_INT64(events);
}
