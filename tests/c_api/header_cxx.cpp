// gort.h compiles as C++ (-Wall -Wextra -pedantic -Werror).
#include "gort.h"

int main() {
    gort_config c;
    gort_config_init(&c);
    gort_select_case sc = {nullptr, GORT_SELECT_RECV, nullptr, 0};
    (void)sc;
    return gort_version() == GORT_VERSION ? 0 : 1;
}
