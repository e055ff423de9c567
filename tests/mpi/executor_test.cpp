// tests/mpi/executor_test.cpp — mp::mpi::PoolExecutor under mpirun -n 3: the executor behaviour
// the local ProcessPoolExecutor's tests check, on ranks 1 and 2; and, when MP_MPI_LOST_TEST is
// set, what a rank that dies does (tests/mpi/CMakeLists.txt runs each case).
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "mp/mpi.hpp"
#include "support/executor_behaviour.hpp"

namespace {

using namespace std::chrono_literals;
namespace behaviour = mp::testing::executor_behaviour;

int square(int x) {
  return x * x;
}
int rank_of(int) {
  return mp::mpi::rank();
}
int nap_then_rank(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return mp::mpi::rank();
}
int fail(int x) {
  throw std::invalid_argument("bad " + std::to_string(x));
}
struct Custom {};
int fail_custom(int) {
  throw Custom{};
}
std::vector<std::uint8_t> echo(std::vector<std::uint8_t> v) {
  return v;
}
int die(int code) {
  _exit(code);
}

// The behaviours every executor shares (tests/support/executor_behaviour.hpp; the local
// executor's tests run the same bodies).
TEST(MpiExecutor, SubmitAndResult) {
  mp::mpi::PoolExecutor ex;
  behaviour::submit_and_result(ex);
}

TEST(MpiExecutor, MapKeepsOrderForEveryChunksize) {
  mp::mpi::PoolExecutor ex;
  behaviour::map_keeps_order(ex);
}

TEST(MpiExecutor, WaitAndAsCompleted) {
  mp::mpi::PoolExecutor ex;
  behaviour::wait_and_as_completed(ex);
}

TEST(MpiExecutor, TasksRunOnTheServingRanks) {
  ASSERT_EQ(mp::mpi::size(), 3);
  EXPECT_EQ(mp::mpi::workers(), 2u);
  mp::mpi::PoolExecutor ex;
  std::vector<mp::Future<int>> fs;
  for (int i = 0; i < 20; ++i) fs.push_back(ex.submit(nap_then_rank, 5));
  std::set<int> ranks;
  for (auto& f : fs) ranks.insert(f.result(10s));
  EXPECT_EQ(ranks, (std::set<int>{1, 2}));
}

TEST(MpiExecutor, ManyTasksInFlight) {
  mp::mpi::PoolExecutor ex;
  std::vector<mp::Future<int>> fs;
  for (int i = 0; i < 5000; ++i) fs.push_back(ex.submit(square, i % 1000));
  for (int i = 0; i < 5000; ++i) ASSERT_EQ(fs[i].result(30s), (i % 1000) * (i % 1000));
}

TEST(MpiExecutor, LargeArgumentsAndResults) {
  mp::mpi::PoolExecutor ex;
  std::vector<std::uint8_t> big(3 << 20);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::uint8_t>(i * 7);
  auto a = ex.submit(echo, big);
  auto b = ex.submit(echo, big);
  EXPECT_EQ(a.result(20s), big);
  EXPECT_EQ(b.result(20s), big);
}

TEST(MpiExecutor, ExceptionsComeBackWithRankAndHost) {
  mp::mpi::PoolExecutor ex;
  auto f = ex.submit(fail, 3);
  try {
    f.result(10s);
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("bad 3", 0), 0u) << what;
    EXPECT_NE(what.find("rank "), std::string::npos) << what;
    EXPECT_NE(what.find("host "), std::string::npos) << what;
  }
  EXPECT_THROW(ex.submit(fail_custom, 1).result(10s), mp::RemoteError);
  EXPECT_EQ(ex.submit(square, 4).result(10s), 16);  // the rank carries on
}

TEST(MpiExecutor, ShutdownCancelsPendingFutures) {
  mp::mpi::PoolExecutor ex(mp::mpi::Options{.tasks_per_rank = 1});  // 2 tasks handed out at once
  std::vector<mp::Future<int>> busy{ex.submit(nap_then_rank, 500), ex.submit(nap_then_rank, 500)};
  std::vector<mp::Future<int>> queued;
  for (int i = 0; i < 10; ++i) queued.push_back(ex.submit(square, i));
  // Handed to a rank: running, not cancellable. Beyond the window: pending, cancellable.
  EXPECT_TRUE(busy[0].running());
  EXPECT_FALSE(busy[0].cancel());
  EXPECT_FALSE(queued[0].running());
  EXPECT_TRUE(queued[9].cancel());
  EXPECT_THROW(queued[9].result(1s), mp::CancelledError);
  // Unless this thread stalled for half a second, the 10 are still pending, all of them.
  const bool stalled = busy[0].done() || busy[1].done();
  ex.shutdown(true, true);
  for (auto& f : busy) EXPECT_GT(f.result(1s), 0);
  std::size_t cancelled = 0;
  for (auto& f : queued) {
    ASSERT_TRUE(f.done() || f.cancelled());
    if (f.cancelled()) {
      ++cancelled;
      EXPECT_THROW(f.result(), mp::CancelledError);
    }
  }
  if (!stalled) EXPECT_EQ(cancelled, 10u);
  EXPECT_GE(cancelled, 1u);
  EXPECT_THROW(ex.submit(square, 1), mp::Error);
}

TEST(MpiExecutor, ShutdownWaitsForTheTasksInFlight) {
  std::vector<mp::Future<int>> fs;
  {
    mp::mpi::PoolExecutor ex;
    for (int i = 0; i < 200; ++i) fs.push_back(ex.submit(square, i));
    ex.shutdown(false);
    EXPECT_THROW(ex.submit(square, 1), mp::Error);
  }  // the destructor waits
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(fs[i].done());
    EXPECT_EQ(fs[i].result(), i * i);
  }
}

// Last (GoogleTest runs a file's tests in order): after finalize() no rank serves; a task
// submitted then fails, and a new executor is refused.
TEST(MpiZFinalize, AfterFinalizeTasksFail) {
  mp::mpi::PoolExecutor ex;
  EXPECT_EQ(ex.submit(square, 3).result(10s), 9);
  mp::mpi::finalize();
  EXPECT_EQ(mp::mpi::workers(), 0u);
  EXPECT_THROW(ex.submit(square, 3).result(10s), mp::BrokenProcessPool);
  EXPECT_THROW(mp::mpi::PoolExecutor{}, mp::ValueError);
}

// MP_MPI_LOST_TEST: a task kills its rank. Under mpirun --enable-recovery the tasks on that rank
// fail with WorkerCrashed once it has been silent for MP_MPI_RANK_TIMEOUT, and the executor goes
// on with the other rank; without it, Open MPI ends the job (the ctest entry expects that).
TEST(MpiLost, ALostRankFailsOnlyItsTasks) {
  if (std::getenv("MP_MPI_LOST_TEST") == nullptr) GTEST_SKIP() << "set MP_MPI_LOST_TEST";
  mp::mpi::PoolExecutor ex;
  auto victim = ex.submit(die, 7);
  const auto start = std::chrono::steady_clock::now();
  try {
    victim.result(30s);
    FAIL() << "the rank did not die";
  } catch (const mp::WorkerCrashed& e) {
    EXPECT_NE(std::string(e.what()).find("was lost"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  EXPECT_EQ(mp::mpi::workers(), 1u);
  std::vector<int> xs(100);
  for (int i = 0; i < 100; ++i) xs[i] = i;
  std::set<int> ranks;
  for (int r : ex.map(rank_of, xs)) ranks.insert(r);
  EXPECT_EQ(ranks.size(), 1u);
  EXPECT_EQ(ex.submit(square, 12).result(10s), 144);

  // The last rank too: then nothing can run, and nothing waits forever.
  EXPECT_THROW(ex.submit(die, 8).result(30s), mp::WorkerCrashed);
  EXPECT_EQ(mp::mpi::workers(), 0u);
  EXPECT_THROW(ex.submit(square, 1).result(10s), mp::BrokenProcessPool);
}

}  // namespace

int main(int argc, char** argv) {
  mp::mpi::init(argc, argv);  // ranks 1 and 2 serve here until rank 0 exits
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
