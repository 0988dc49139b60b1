/* Pure checks of client input (unit-tested in tests/unit/test_review_helpers.c). */
#include "review.h"

long review_average_tenths(long long sum, long long count) {
    /* round(10 * sum / count) with halves up, in integers: (20 * sum + count) / (2 * count). */
    return (long)((20 * sum + count) / (2 * count));
}
