/*
 * roam/task.h: a background task. One thread runs a function at once and
 * then again and again, sleeping between turns for as long as the function
 * asks, until the task is stopped. Sweepers, retry loops and mailers are
 * built on it, so each of them is only its turn.
 */
#ifndef ROAM_TASK_H
#define ROAM_TASK_H

#include <stddef.h>

typedef struct roam_task roam_task_t;

/*
 * One turn of the task. Returns how long to sleep before the next turn, in
 * milliseconds: 0 runs it again at once, a negative value means the task's
 * interval. A wake or a stop cuts the sleep short.
 */
typedef long (*roam_task_fn)(void *ctx);

/*
 * Starts a task named name (for logs; borrowed, must outlive the task) that
 * runs fn(ctx) on its own thread, the first time at once. Returns the new
 * task, or NULL with a message in errbuf when the thread cannot be started.
 */
roam_task_t *roam_task_start(const char *name, long interval_ms, roam_task_fn fn, void *ctx, char *errbuf,
                             size_t errlen);

/* Ends the current sleep, or the next one if a turn is running: the next turn starts at once. */
void roam_task_wake(roam_task_t *t);

/* 1 once the task is being stopped: a long turn checks it to end early. */
int roam_task_stopping(roam_task_t *t);

/*
 * Stops the task: lets the running turn finish, joins the thread and frees
 * the task. The thread releases its roam/httpc.h handles before it ends.
 * NULL is accepted.
 */
void roam_task_stop(roam_task_t *t);

#endif
