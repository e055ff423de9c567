// An address two aggregates deep, inside an optional inside a pair, is found and named.
// expect-error: static assertion failed: mp:
// expect-error: address_free<std::span<const int(, 18446744073709551615)?> ?>. evaluates to false
#include <optional>
#include <span>
#include <utility>

#include "mp/codec.hpp"

struct Inner {
  int a;
  std::span<const int> values;
};
struct Outer {
  double d;
  Inner inner;
};

int main() {
  auto bytes = mp::encode(std::pair<int, std::optional<Outer>>{});
  (void)bytes;
}
