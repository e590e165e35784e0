/* Mirrors compiler-rt/test/lsan/TestCases/use_stacks.cpp: main holds the block in a local and
   calls exit() without returning, so its frame is live at the check. Default options: no leak. */
#include <stdlib.h>

int main(void) {
    void* volatile held = malloc(1337);
    (void)held;
    exit(0);
}
