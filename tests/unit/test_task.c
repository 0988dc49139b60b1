/*
 * roam/task.h: the first turn runs at once, the function's answer sets the
 * sleep (negative: the interval, 0: at once), a wake cuts a sleep short, and
 * a stop ends even a long sleep promptly and waits for a running turn.
 */
#include <roam/common.h>
#include <roam/task.h>

#include "check.h"

#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    atomic_int turns;
    long answer;    /* what each turn returns */
    long busy_ms;   /* how long each turn works */
    atomic_int done; /* turns that ran to their end */
} counter_t;

static long count_turn(void *ctx) {
    counter_t *c = ctx;
    atomic_fetch_add(&c->turns, 1);
    if (c->busy_ms > 0) usleep((useconds_t)c->busy_ms * 1000);
    atomic_fetch_add(&c->done, 1);
    return c->answer;
}

static void wait_turns(counter_t *c, int n, long max_ms) {
    for (long waited = 0; atomic_load(&c->turns) < n && waited < max_ms; waited += 5) usleep(5000);
}

static void test_first_turn_at_once_then_the_interval(void) {
    counter_t c = {.answer = -1};
    char err[128];
    int64_t t0 = roam_now_ms();
    roam_task_t *t = roam_task_start("test", 300, count_turn, &c, err, sizeof(err));
    REQUIRE(t != NULL);
    wait_turns(&c, 1, 1000);
    CHECK(roam_now_ms() - t0 < 200);
    wait_turns(&c, 2, 2000);
    int64_t second = roam_now_ms() - t0;
    CHECK(second >= 290 && second < 1000);
    roam_task_stop(t);
}

static void test_zero_runs_again_at_once(void) {
    counter_t c = {.answer = 0};
    char err[128];
    roam_task_t *t = roam_task_start("test", 60000, count_turn, &c, err, sizeof(err));
    REQUIRE(t != NULL);
    wait_turns(&c, 50, 2000);
    CHECK(atomic_load(&c.turns) >= 50);
    roam_task_stop(t);
}

static void test_wake_cuts_the_sleep_short(void) {
    counter_t c = {.answer = -1};
    char err[128];
    roam_task_t *t = roam_task_start("test", 60000, count_turn, &c, err, sizeof(err));
    REQUIRE(t != NULL);
    wait_turns(&c, 1, 1000);
    usleep(50000);
    CHECK_INT(atomic_load(&c.turns), 1);
    int64_t t0 = roam_now_ms();
    roam_task_wake(t);
    wait_turns(&c, 2, 2000);
    CHECK_INT(atomic_load(&c.turns), 2);
    CHECK(roam_now_ms() - t0 < 500);
    roam_task_stop(t);
}

static void test_wake_during_a_turn_gives_another_turn(void) {
    counter_t c = {.answer = -1, .busy_ms = 200};
    char err[128];
    roam_task_t *t = roam_task_start("test", 60000, count_turn, &c, err, sizeof(err));
    REQUIRE(t != NULL);
    wait_turns(&c, 1, 1000);
    roam_task_wake(t); /* while the first turn works: the work it signals may have come too late for it */
    wait_turns(&c, 2, 2000);
    CHECK_INT(atomic_load(&c.turns), 2);
    roam_task_stop(t);
}

static void test_stop_ends_a_long_sleep_and_waits_for_the_turn(void) {
    counter_t c = {.answer = 3600000};
    char err[128];
    roam_task_t *t = roam_task_start("test", 1000, count_turn, &c, err, sizeof(err));
    REQUIRE(t != NULL);
    wait_turns(&c, 1, 1000);
    int64_t t0 = roam_now_ms();
    roam_task_stop(t);
    CHECK(roam_now_ms() - t0 < 500);

    counter_t busy = {.answer = -1, .busy_ms = 300};
    t = roam_task_start("test", 1000, count_turn, &busy, err, sizeof(err));
    REQUIRE(t != NULL);
    wait_turns(&busy, 1, 1000);
    roam_task_stop(t); /* returns only once the turn has ended */
    CHECK_INT(atomic_load(&busy.done), 1);
    CHECK_INT(atomic_load(&busy.turns), 1);
    roam_task_stop(NULL);
}

int main(void) {
    RUN(test_first_turn_at_once_then_the_interval);
    RUN(test_zero_runs_again_at_once);
    RUN(test_wake_cuts_the_sleep_short);
    RUN(test_wake_during_a_turn_gives_another_turn);
    RUN(test_stop_ends_a_long_sleep_and_waits_for_the_turn);
    CHECK_DONE();
}
