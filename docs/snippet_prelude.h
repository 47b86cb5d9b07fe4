/*
 * Included before every C snippet of guide.md when check_snippets.sh
 * compiles it: the snippets are checked against gort.h as users include it.
 */
#include <gort.h>
