// A std::span as the item of Pool::map is refused, naming the span.
// expect-error: static assertion failed: mp:
// expect-error: address_free<std::span<int(, 18446744073709551615)?> ?>. evaluates to false
#include <span>
#include <vector>

#include "mp/pool.hpp"

int sum(std::span<int> s) {
  int total = 0;
  for (int x : s) total += x;
  return total;
}

int main() {
  std::vector<int> data{1, 2, 3};
  mp::Pool pool(2);
  auto sums = pool.map(&sum, std::vector<std::span<int>>{std::span<int>(data)});
  (void)sums;
}
