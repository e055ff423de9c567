// The installed mp::mpi links and runs: rank 0 gets a result from rank 1.
#include <mp/mpi.hpp>

namespace {
int twice(int x) {
  return 2 * x;
}
}  // namespace

int main(int argc, char** argv) {
  mp::mpi::init(argc, argv);
  mp::mpi::PoolExecutor ex;
  return ex.submit(twice, 21).result(std::chrono::seconds(30)) == 42 ? 0 : 1;
}
