// A reference is an address: a tuple holding one is refused, naming the reference.
// expect-error: static assertion failed: mp:
// expect-error: address_free<int&>. evaluates to false
#include <tuple>

#include "mp/codec.hpp"

int main() {
  int x = 1;
  auto bytes = mp::encode(std::tuple<int&>(x));
  (void)bytes;
}
