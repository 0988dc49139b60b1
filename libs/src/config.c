/* Settings from the environment; every failure exits with one line naming the variable. */
#include <roam/config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *program = "roam";

void roam_config_set_program(const char *p) { program = p; }

void roam_config_fail(const char *name, const char *value, const char *why) {
    if (value != NULL)
        fprintf(stderr, "%s: config: %s=\"%s\": %s\n", program, name, value, why);
    else
        fprintf(stderr, "%s: config: %s: %s\n", program, name, why);
    exit(2);
}

static const char *lookup(const char *name) {
    const char *v = getenv(name);
    return (v != NULL && v[0] != '\0') ? v : NULL;
}

const char *roam_config_str(const char *name, const char *def) {
    const char *v = lookup(name);
    if (v != NULL) return v;
    if (def == NULL) roam_config_fail(name, NULL, "is required but not set");
    return def;
}

long roam_config_int(const char *name, long def, long min, long max) {
    const char *v = lookup(name);
    if (v == NULL) return def;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || n < min || n > max) {
        char why[96];
        snprintf(why, sizeof(why), "must be an integer from %ld to %ld", min, max);
        roam_config_fail(name, v, why);
    }
    return n;
}

int roam_config_bool(const char *name, int def) {
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    const char *v = lookup(name);
    if (v == NULL) return def;
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) return 1;
        if (strcasecmp(v, no[i]) == 0) return 0;
    }
    roam_config_fail(name, v, "must be true or false");
}

int roam_config_enum(const char *name, const char *def, const char *const *choices) {
    const char *v = lookup(name);
    if (v == NULL) v = def;
    if (v == NULL) roam_config_fail(name, NULL, "is required but not set");
    for (int i = 0; choices[i] != NULL; i++)
        if (strcmp(v, choices[i]) == 0) return i;
    char why[256] = "must be one of";
    for (int i = 0; choices[i] != NULL; i++) {
        strncat(why, i ? ", " : " ", sizeof(why) - strlen(why) - 1);
        strncat(why, choices[i], sizeof(why) - strlen(why) - 1);
    }
    roam_config_fail(name, v, why);
}

const char *roam_config_url(const char *name, const char *def, const char *const *schemes) {
    const char *v = roam_config_str(name, def);
    const char *sep = strstr(v, "://");
    if (sep != NULL && sep[3] != '\0') {
        size_t n = (size_t)(sep - v);
        for (int i = 0; schemes[i] != NULL; i++)
            if (strlen(schemes[i]) == n && strncmp(v, schemes[i], n) == 0) return v;
    }
    char why[256] = "must be a URL with scheme";
    for (int i = 0; schemes[i] != NULL; i++) {
        strncat(why, i ? " or " : " ", sizeof(why) - strlen(why) - 1);
        strncat(why, schemes[i], sizeof(why) - strlen(why) - 1);
    }
    roam_config_fail(name, v, why);
}
