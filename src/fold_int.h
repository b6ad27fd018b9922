/*-------------------------------------------------------------------------
 *
 * fold_int.h
 *	  Private to the fold (fold.c, fold_aggregate.c, fold_write.c,
 *	  fold_direct.c): the in-memory aggregates of one batch, built by
 *	  fold_aggregate.c and written by fold_write.c and fold_direct.c.
 *	  Everything lives in Fold.cxt.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UA_FOLD_INT_H
#define UA_FOLD_INT_H

#include "common/hashfn.h"
#include "datatype/timestamp.h"
#include "utils/hsearch.h"
#include "utils/portal.h"
#include "sketch.h"

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
	K_USER_DOCUMENT, K_DOCUMENT_USER, K_DOCUMENT_CONVERSATION,
	K_SYSTEM_USER, K_SYSTEM_CONVERSATION, K_SYSTEM_DOCUMENT, K_USER_SESSION,
	K_MONTH_CONVERSATION, K_MONTH_DOCUMENT, K_COUNT
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

/* The text datum of an interned string. */
#define STR_TEXT(s)		PointerGetDatum((s)->text)

/* ---------------------------------------------------------------------- */
/* Groups                                                                  */

/*
 * A group of a hashed rollup: an interned string (or NULL) and a day.  The
 * per-user-day breakdowns (models, categories, labels) and the system's per-day
 * models and labels hang off their day as short lists: a user uses a few
 * models a day.
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

/*
 * A group keyed by two interned strings and a day: a document's section of
 * a UTC day.  Too many per day for short lists.
 */
typedef struct PairKey
{
	const Interned *a;			/* user or document */
	const Interned *b;			/* conversation or section */
	int64		day;
} PairKey;

typedef struct PairEntry
{
	PairKey		key;
	uint32		hash;
	char		status;
	void	   *agg;
} PairEntry;

#define SH_PREFIX		pairs
#define SH_ELEMENT_TYPE PairEntry
#define SH_KEY_TYPE		PairKey
#define SH_KEY			key
#define SH_HASH_KEY(tb, k) hash_bytes((const unsigned char *) &(k), sizeof(PairKey))
#define SH_EQUAL(tb, x, y) ((x).a == (y).a && (x).b == (y).b && (x).day == (y).day)
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a) ((a)->hash)
#define SH_SCOPE		static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/* Sums and counts of the known query and response lengths (NULL: unknown). */
typedef struct LengthAgg
{
	int64		query_sum,
				query_count,
				response_sum,
				response_count;
} LengthAgg;

/* The latency part of rollup_user_daily, rollup_user_monthly and rollup_org_daily */
typedef struct LatencyAgg
{
	UaSketchState *latency;
	UaSketchState *ttft;
	int64		feedback_sum;
	int64		feedback_count;
	LengthAgg	lengths;
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

/*
 * rollup_user_categories: one category (a) of a user-day;
 * rollup_user_labels and rollup_system_labels: one label (b) of a kind (a:
 * query_intent or request_type) of a user-day or UTC day.
 */
typedef struct CategoryAgg
{
	ListEntry	key;
	int64		requests;
} CategoryAgg;

/*
 * rollup_conversations: the events of a user-day's conversations, kept as
 * the distinct sets are: appended as they come (an event of the
 * conversation of the last item is added to it), compacted (sorted by
 * conversation, figures of the same conversation combined) when the array
 * is full, and once more before writing.
 */
typedef struct ConversationItem
{
	const Interned *conversation;
	int64		requests,
				tokens_total;
	Datum		cost;			/* numeric in Fold.cxt */
	TimestampTz first_at,
				last_at;
} ConversationItem;

typedef struct ConversationAgg
{
	int			n;
	int			cap;
	int			skip;			/* growths to go before compacting again */
	ConversationItem *items;
} ConversationAgg;

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
	TimestampTz last_used;		/* documents */
	LengthAgg	lengths;		/* system models */
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

/*
 * rollup_user_monthly: a user's local month.  The usage figures (requests,
 * tokens, cost, last use, active days) are summed from the month's days at
 * the end (merge_months); cache hits and savings, which the days do not
 * keep, and the distinct sets as they come.
 */
typedef struct MonthAgg
{
	LatencyAgg	latency;		/* the latency columns (put_latency) */
	int64		requests,
				failed,
				tokens_total,
				cached_input,
				cache_hits;
	Datum		cost;
	Datum		savings;
	int32		day_bits;		/* bit d-1: local day d of the month has events */
	TimestampTz last_used;
	SetAgg		conversations;
	SetAgg		documents;
} MonthAgg;

/* A user's local day: every per-user rollup of that day, and its month's. */
typedef struct UserDayAgg
{
	LatencyAgg	latency;
	MonthAgg   *month;
	ListEntry  *models;			/* ModelAgg */
	ListEntry  *categories;		/* CategoryAgg */
	ListEntry  *labels;			/* CategoryAgg by kind and label */
	SetAgg		documents;
	SetAgg		sessions;
	ConversationAgg conversation_figures;	/* also the day's distinct conversations */
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
	ListEntry  *labels;			/* CategoryAgg by kind and label */
	SetAgg		users;
	SetAgg		conversations;
	SetAgg		documents;
} SystemDayAgg;

#define FOLD_MAX_LOCAL	16

typedef struct Fold
{
	MemoryContext cxt;			/* everything below lives here */
	MemoryContext row_cxt;		/* one event's temporary work */
	MemoryContext write_cxt;	/* the arrays of one flush */
	Oid			sketch_type;	/* analytics.latency_sketch */
	struct intern_hash *strings;	/* fold_aggregate.c's */
	Interned   *recent[5];		/* last provider, model, category, intent, type */
	Interned   *kind_intent;	/* the label kinds: 'query_intent' */
	Interned   *kind_type;		/* 'request_type' */
	groups_hash *user_days;
	groups_hash *user_months;
	groups_hash *org_days;		/* LatencyAgg by organization and its local day */
	groups_hash *documents;
	groups_hash *system_days;
	pairs_hash *sections;		/* int64 references by document, section, UTC day */
	SystemDayAgg *last_system_day;
	int64		last_utc_day;
	int			n_models;		/* rows of each list-kept rollup */
	int			n_categories;
	int			n_system_models;
	int			n_labels;
	int			n_system_labels;
	HTAB	   *sweep;			/* SweepUser by user; NULL: no sweep (a rebuild) */
	MemoryContext sweep_cxt;	/* the sweep's keys */
	TimestampTz sweep_from;		/* events before this are not swept */

	/*
	 * On a Citus node folding one local shard of chat_events
	 * (fold_shard_range): the shard table read, and the colocated shard
	 * tables of the user-keyed rollups, written there by MERGE; the other
	 * rollups go through Citus.  events_table NULL, n_local 0 otherwise.
	 */
	const char *events_table;
	int			n_local;
	const char *local_rollup[FOLD_MAX_LOCAL];	/* rollup's name, unqualified */
	const char *local_shard[FOLD_MAX_LOCAL];	/* its shard, qualified, quoted */
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

/* fold_aggregate.c: reading the batch into the aggregates. */

/* Empty aggregates in a fresh context under parent (Fold.cxt). */
extern void ua_fold_start(Fold *f, MemoryContext parent);

/* An empty threshold sweep (Fold.sweep), its table and keys in cxt. */
extern void ua_fold_sweep_create(Fold *f, MemoryContext cxt);

/*
 * The batch cursor: args are fold_range's four, nulls as for SPI; the
 * events of events_table (NULL: analytics.chat_events).
 */
extern Portal ua_fold_open_batch(Datum *args, const char *nulls, const char *events_table);

/* Aggregate the next rows of the cursor; how many were read (0: the end). */
extern uint64 ua_fold_fetch(Fold *f, Portal cursor);

/* Before writing: rank the strings bytewise, merge the months' sketches. */
extern void ua_fold_finish(Fold *f);

/* Sort a set (by rank once finished) and drop duplicates. */
extern void ua_fold_set_compact(SetAgg *set);

/* Sort a user-day's conversation figures (by rank once finished), combined. */
extern void ua_fold_conversations_compact(Fold *f, ConversationAgg *c);

#define MAX_COLUMNS		20

/*
 * Column arrays of one rollup's write (fold_write.c): values and nulls per
 * column, one row each group.
 */
typedef struct Columns
{
	int			ncols;
	int			nkeys;			/* the first nkeys columns: the rollup's key */
	int			nrows;
	int		   *order;			/* the rows in key order (upsert) */
	int			norder;			/* of which the first norder go to the MERGE */
	Oid			types[MAX_COLUMNS];	/* element types */
	Datum	   *values[MAX_COLUMNS];
	bool	   *nulls[MAX_COLUMNS];
} Columns;

/* fold_write.c: one upsert per rollup from arrays, in the current context. */
extern void ua_fold_write(Fold *f);

/* Two text datums bytewise (fold_write.c). */
extern int	ua_fold_text_cmp(Datum x, Datum y);

/*
 * fold_direct.c: insert the rows of cols (cols->order, key order) whose
 * users, documents or scopes have no stored row in their days' range, as
 * COPY does; cols->order keeps the rest (cols->norder) for the MERGE.
 * False when the table cannot take the direct insert (everything left).
 */
extern bool ua_fold_insert_new(const char *table, char **names, Columns *cols);

#endif							/* UA_FOLD_INT_H */
