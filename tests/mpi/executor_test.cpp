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

namespace {

using namespace std::chrono_literals;

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
void nothing() {}
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

struct Scale {
  int k = 1;
  int operator()(int x) const { return k * x; }
  template <class A>
  void serialize(A& a) {
    a(k);
  }
};

TEST(MpiExecutor, SubmitReturnsTheResult) {
  mp::mpi::PoolExecutor ex;
  auto f = ex.submit(square, 7);
  EXPECT_EQ(f.result(10s), 49);
  EXPECT_TRUE(f.done());
  EXPECT_FALSE(f.cancelled());
  EXPECT_EQ(f.exception(), nullptr);
  auto slow = ex.submit(nap_then_rank, 300);
  EXPECT_THROW(slow.result(10ms), mp::TimeoutError);
  EXPECT_GT(slow.result(10s), 0);
  ex.submit(nothing).result(10s);
  EXPECT_EQ(ex.submit(Scale{3}, 5).result(10s), 15);
  EXPECT_EQ(ex.submit([](int a, int b) { return a - b; }, 9, 4).result(10s), 5);
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

TEST(MpiExecutor, MapKeepsOrderForEveryChunksize) {
  mp::mpi::PoolExecutor ex;
  std::vector<int> xs(257);
  for (int i = 0; i < 257; ++i) xs[i] = i;
  for (std::size_t chunksize : {1u, 2u, 7u, 64u, 1000u}) {
    std::vector<int> got;
    for (int v : ex.map(square, xs, chunksize)) got.push_back(v);
    ASSERT_EQ(got.size(), xs.size()) << chunksize;
    for (int i = 0; i < 257; ++i) ASSERT_EQ(got[i], i * i) << chunksize;
  }
  std::vector<int> none;
  EXPECT_EQ(std::ranges::distance(ex.map(square, none)), 0);
  EXPECT_THROW(ex.map(square, xs, 0), mp::ValueError);
}

TEST(MpiExecutor, MapRethrowsTheFirstFailure) {
  mp::mpi::PoolExecutor ex;
  std::vector<int> xs{1, 2, 3};
  auto results = ex.map(fail, xs);
  EXPECT_THROW(for (int v : results)(void) v, std::invalid_argument);
}

TEST(MpiExecutor, WaitAndAsCompleted) {
  mp::mpi::PoolExecutor ex;
  std::vector<mp::Future<int>> fs;
  for (int i = 0; i < 10; ++i) fs.push_back(ex.submit(square, i));
  auto [done, not_done] = mp::wait(fs, 20s);
  EXPECT_EQ(done.size(), 10u);
  EXPECT_TRUE(not_done.empty());

  std::atomic<int> called{0};
  std::vector<mp::Future<int>> more;
  for (int i = 0; i < 10; ++i) {
    more.push_back(ex.submit(square, i));
    more.back().add_done_callback([&](mp::Future<int>& g) { called.fetch_add(g.result()); });
  }
  std::multiset<int> seen;
  for (auto& f : mp::as_completed(more, 20s)) seen.insert(f.result());
  EXPECT_EQ(seen, (std::multiset<int>{0, 1, 4, 9, 16, 25, 36, 49, 64, 81}));
  // A callback runs just after its future is marked done, on the communication thread.
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (called.load() < 285 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(called.load(), 285);

  // A task that sleeps 1 s is not done 50 ms later; first_exception returns at the failure.
  std::vector<mp::Future<int>> slow{ex.submit(nap_then_rank, 1000), ex.submit(fail, 1)};
  auto first = mp::wait(slow, 20s, mp::ReturnWhen::first_exception);
  EXPECT_TRUE(first.done.size() == 1 && first.done[0] == slow[1]);
  auto timed = mp::wait(slow, 50ms);
  EXPECT_EQ(timed.not_done.size(), 1u);
  EXPECT_THROW(slow[0].result(1ms), mp::TimeoutError);
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
