// A function object whose state holds a pointer is refused, naming the pointer's type.
// expect-error: static assertion failed: mp:
// expect-error: address_free<int\*>. evaluates to false
#include "mp/pool.hpp"

struct AddFrom {
  int* source;
  int operator()(int x) const { return x + *source; }
};

int main() {
  int base = 1;
  mp::Pool pool(2);
  auto n = pool.apply(AddFrom{&base}, 41);
  (void)n;
}
