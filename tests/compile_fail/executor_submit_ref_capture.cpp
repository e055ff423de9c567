// A lambda that captures by reference cannot run in an executor's worker.
// expect-error: static assertion failed: mp: a pool runs
// expect-error: a lambda that captures cannot be sent
#include <vector>

#include "mp/executor.hpp"

int main() {
  std::vector<int> v{1, 2, 3};
  mp::ProcessPoolExecutor executor(2);
  auto future = executor.submit([&v] { return v.size(); });
  (void)future;
}
