/* gort.h compiles as strict C99 (-std=c99 -Wall -Wextra -pedantic -Werror). */
#include "gort.h"

int main(void) {
    gort_config c;
    gort_config_init(&c);
    return gort_version() == GORT_VERSION ? 0 : 1;
}
