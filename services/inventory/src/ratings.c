/* Placeholder: the review-event consumer. */
#include "inventory.h"

int inventory_ratings_init(roam_daemon_t *d, char *errbuf, size_t errlen) {
    (void)d;
    (void)errbuf;
    (void)errlen;
    return 0;
}
