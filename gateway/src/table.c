/*
 * The public routes of ../shared/API.md and the service behind each. The
 * most specific pattern wins (a literal segment beats a parameter), so
 * /listings/{id}/reviews goes to review while /listings/{id} goes to
 * inventory. Nothing under /internal is listed, so nothing there is ever
 * forwarded. tests/integration/test_openapi.py checks this table against
 * docs/openapi.yaml both ways.
 */
#include "gateway.h"

const gw_entry_t gw_table[] = {
    /* Auth */
    {"POST", "/auth/register", "auth", 0},
    {"POST", "/auth/login", "auth", 0},
    {"POST", "/auth/refresh", "auth", 0},
    {"POST", "/auth/logout", "auth", 1},
    {"GET", "/auth/me", "auth", 1},
    {"GET", "/auth/jwks.json", "auth", 0},
    /* Inventory */
    {"GET", "/listings", "inventory", 0},
    {"POST", "/listings", "inventory", 1},
    {"GET", "/listings/suggest", "inventory", 0},
    {"GET", "/listings/{id}", "inventory", 0},
    {"PATCH", "/listings/{id}", "inventory", 1},
    {"DELETE", "/listings/{id}", "inventory", 1},
    {"GET", "/listings/{id}/availability", "inventory", 0},
    {"GET", "/listings/{id}/quote", "inventory", 0},
    {"POST", "/listings/{id}/units", "inventory", 1},
    {"PUT", "/listings/{id}/units/{unit_id}/calendar", "inventory", 1},
    {"GET", "/operator/listings", "inventory", 1},
    /* Bookings */
    {"POST", "/bookings", "booking", 1},
    {"GET", "/bookings", "booking", 1},
    {"GET", "/bookings/{id}", "booking", 1},
    {"POST", "/bookings/{id}/cancel", "booking", 1},
    {"POST", "/bookings/{id}/complete", "booking", 1},
    {"GET", "/operator/bookings", "booking", 1},
    /* Payments */
    {"POST", "/payments", "payment", 1},
    {"GET", "/payments/{id}", "payment", 1},
    {"GET", "/bookings/{id}/payments", "payment", 1},
    /* Reviews */
    {"GET", "/listings/{id}/reviews", "review", 0},
    {"POST", "/listings/{id}/reviews", "review", 1},
    {"POST", "/reviews/{id}/reply", "review", 1},
    {"POST", "/reviews/{id}/hide", "review", 1},
    /* Notifications */
    {"GET", "/notifications", "notification", 1},
    {"POST", "/notifications/{id}/read", "notification", 1},
    {"POST", "/notifications/read-all", "notification", 1},
};

const size_t gw_table_len = sizeof(gw_table) / sizeof(gw_table[0]);
