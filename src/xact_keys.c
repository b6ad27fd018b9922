/*-------------------------------------------------------------------------
 *
 * xact_keys.c
 *	  The keys a transaction has taken (admission locks, notifications it
 *	  wrote), listed with the subtransaction of each, so that the owner's
 *	  subtransaction callback can drop exactly what ROLLBACK TO SAVEPOINT
 *	  undid.  The list lives in TopMemoryContext and is reused across
 *	  transactions; its owner empties it (n = 0) at transaction end.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "utils/memutils.h"
#include "xact_keys.h"

void
ua_xact_keys_add(UaXactKeys *keys, uint64 key)
{
	if (keys->n == keys->capacity)
	{
		keys->capacity = Max(16, keys->capacity * 2);
		keys->items = keys->items
			? repalloc(keys->items, keys->capacity * sizeof(UaXactKey))
			: MemoryContextAlloc(TopMemoryContext, keys->capacity * sizeof(UaXactKey));
	}
	keys->items[keys->n].key = key;
	keys->items[keys->n].subid = GetCurrentSubTransactionId();
	keys->n++;
}

void
ua_xact_keys_drop_from(UaXactKeys *keys, SubTransactionId from, void (*dropped) (uint64 key))
{
	int			i,
				kept = 0;

	for (i = 0; i < keys->n; i++)
	{
		if (keys->items[i].subid >= from)
		{
			if (dropped)
				dropped(keys->items[i].key);
		}
		else
			keys->items[kept++] = keys->items[i];
	}
	keys->n = kept;
}
