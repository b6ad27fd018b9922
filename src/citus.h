/*-------------------------------------------------------------------------
 *
 * citus.h
 *	  Is this node part of a Citus cluster on which analytics.distribute()
 *	  has run (citus.c)?  Then the extension's tables are shells: rows live
 *	  in shards, and only statements (which Citus routes) reach them.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UA_CITUS_H
#define UA_CITUS_H

/* Set up the relcache callback; from _PG_init. */
extern void ua_citus_init(void);

/*
 * True when analytics.chat_events is a Citus table.  Cached per backend,
 * recomputed after a relcache invalidation of chat_events (Citus sends
 * one when it distributes a table) or of every relation.
 */
extern bool ua_citus(void);

/*
 * On a distributed install: is the shard of chat_events that holds this
 * user placed on this node (a call Citus delegated here, or one made on
 * the right worker)?  Always true on a single node.
 */
extern bool ua_citus_user_is_local(Datum user_id);

#endif							/* UA_CITUS_H */
