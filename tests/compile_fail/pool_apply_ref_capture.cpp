// A lambda that captures by reference cannot run in a pool worker.
// expect-error: static assertion failed: mp: a pool runs
// expect-error: a lambda that captures cannot be sent
// expect-error: bind values with mp::partial
#include <vector>

#include "mp/pool.hpp"

int main() {
  std::vector<int> v{1, 2, 3};
  mp::Pool pool(2);
  auto n = pool.apply([&v] { return v.size(); });
  (void)n;
}
