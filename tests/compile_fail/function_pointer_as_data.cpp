// A function pointer as a value is an address too: refused as data.
// expect-error: static assertion failed: mp:
// expect-error: address_free<int \(\*\)\(int\)>. evaluates to false
#include <vector>

#include "mp/codec.hpp"

int twice(int x) {
  return 2 * x;
}

int main() {
  std::vector<int (*)(int)> fs{&twice};
  auto bytes = mp::encode(fs);
  (void)bytes;
}
