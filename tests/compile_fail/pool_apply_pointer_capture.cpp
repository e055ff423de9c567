// A lambda that captures a pointer by value cannot run in a pool worker either.
// expect-error: static assertion failed: mp: a pool runs
// expect-error: a lambda that captures cannot be sent
#include "mp/pool.hpp"

int main() {
  int x = 41;
  int* p = &x;
  mp::Pool pool(2);
  auto n = pool.apply([p] { return *p + 1; });
  (void)n;
}
