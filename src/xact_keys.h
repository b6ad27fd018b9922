/*-------------------------------------------------------------------------
 *
 * xact_keys.h
 *	  A list of 64-bit keys a transaction has taken, each with the
 *	  subtransaction that took it (xact_keys.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef UA_XACT_KEYS_H
#define UA_XACT_KEYS_H

typedef struct UaXactKey
{
	uint64		key;
	SubTransactionId subid;
} UaXactKey;

typedef struct UaXactKeys
{
	UaXactKey  *items;			/* in TopMemoryContext */
	int			n;
	int			capacity;
} UaXactKeys;

/* Append key, taken by the current subtransaction. */
extern void ua_xact_keys_add(UaXactKeys *keys, uint64 key);

/*
 * Drop the keys taken at subtransaction `from` or above (TopSubTransactionId:
 * all of them), calling dropped(key) for each when it is not NULL.
 */
extern void ua_xact_keys_drop_from(UaXactKeys *keys, SubTransactionId from,
								   void (*dropped) (uint64 key));

#endif							/* UA_XACT_KEYS_H */
