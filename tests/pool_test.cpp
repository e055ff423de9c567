// tests/pool_test.cpp — Pool: map, starmap, apply, async results, exceptions carried back,
// workers that die, and the pool's ends (close/join, terminate).
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <numeric>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "mp/pool.hpp"
#include "mp/process.hpp"
#include "mp/sharedctypes.hpp"
#include "support/leak_check.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class PoolTest : public mp::testing::LeakCheckedTest {};

int square(int n) {
  return n * n;
}
int add(int a, int b) {
  return a + b;
}
std::string repeat(std::string s, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += s;
  return out;
}
int my_pid(int) {
  return static_cast<int>(::getpid());
}
int my_pid_slowly(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return static_cast<int>(::getpid());
}
int fail_on_three(int n) {
  if (n == 3) throw std::invalid_argument("three is not allowed");
  return n;
}
struct Custom : std::runtime_error {
  using std::runtime_error::runtime_error;
};
int throw_custom(int) {
  throw Custom("custom failure");
}
int die_on_seven(int n) {
  if (n == 7) std::raise(SIGKILL);
  return n;
}
int abort_now() {
  std::abort();
}
int sleep_ms(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return ms;
}

struct Scale {  // an encodable function object
  int factor = 1;
  int operator()(int x) const { return factor * x; }
  template <class A>
  void serialize(A& ar) {
    ar(factor);
  }
};

TEST_F(PoolTest, MapKeepsOrderAcrossChunksizes) {
  mp::Pool pool(3);
  std::vector<int> xs(100);
  std::iota(xs.begin(), xs.end(), 0);
  std::vector<int> expected;
  for (int x : xs) expected.push_back(x * x);
  EXPECT_EQ(pool.map(square, xs), expected);
  EXPECT_EQ(pool.map(square, xs, 1), expected);
  EXPECT_EQ(pool.map(square, xs, 1000), expected);
  EXPECT_TRUE(pool.map(square, std::vector<int>{}).empty());
}

TEST_F(PoolTest, ImapIsOrderedImapUnorderedIsNot) {
  mp::Pool pool(3);
  std::vector<int> got;
  for (int x : pool.imap(square, std::vector{1, 2, 3, 4, 5})) got.push_back(x);
  EXPECT_EQ(got, (std::vector{1, 4, 9, 16, 25}));
  got.clear();
  for (int x : pool.imap(square, std::vector{1, 2, 3, 4, 5}, 2)) got.push_back(x);
  EXPECT_EQ(got, (std::vector{1, 4, 9, 16, 25}));
  // The slow item comes last when results are taken as they come.
  std::vector<int> order;
  for (int ms : pool.imap_unordered(sleep_ms, std::vector{300, 10, 20})) order.push_back(ms);
  ASSERT_EQ(order.size(), 3u);
  EXPECT_EQ(order.back(), 300);
  EXPECT_TRUE(pool.imap(square, std::vector<int>{}).begin() == std::default_sentinel);
  EXPECT_TRUE(pool.imap_unordered(square, std::vector<int>{}).begin() == std::default_sentinel);
  auto failing = pool.imap(fail_on_three, std::vector{1, 2, 3, 4});
  got.clear();
  EXPECT_THROW(
      {
        for (int x : failing) got.push_back(x);
      },
      std::invalid_argument);
  EXPECT_EQ(got, (std::vector{1, 2})) << "items before the failing one are delivered";
  int seen = 0;
  EXPECT_THROW(
      {
        for (int x : pool.imap_unordered(fail_on_three, std::vector{3})) seen += x;
      },
      std::invalid_argument);
  EXPECT_THROW(pool.imap(square, std::vector{1}, 0), mp::ValueError);
}

TEST_F(PoolTest, WorkIsSpreadOverTheWorkers) {
  mp::Pool pool(3);
  std::vector<int> xs(30, 5);  // 5 ms each: no one worker can take them all in time
  auto pids = pool.map(my_pid_slowly, xs, 1);
  std::set<int> distinct(pids.begin(), pids.end());
  EXPECT_EQ(distinct.size(), 3u);
  EXPECT_EQ(distinct.count(static_cast<int>(::getpid())), 0u) << "ran in the caller";
}

TEST_F(PoolTest, ApplyStarmapLambdasAndFunctionObjects) {
  mp::Pool pool(2);
  EXPECT_EQ(pool.apply(add, 2, 3), 5);
  EXPECT_EQ(pool.apply(repeat, std::string("ab"), 3), "ababab");
  EXPECT_EQ(pool.apply([](int x) { return x + 1; }, 41), 42);
  EXPECT_EQ(pool.apply(Scale{3}, 5), 15);
  EXPECT_EQ(pool.map(Scale{-1}, std::vector{1, 2}), (std::vector{-1, -2}));
  std::vector<std::tuple<int, int>> pairs{{1, 2}, {3, 4}, {5, 6}};
  EXPECT_EQ(pool.starmap(add, pairs), (std::vector{3, 7, 11}));
  pool.apply([] {});  // void
}

TEST_F(PoolTest, AsyncResults) {
  mp::Pool pool(2);
  auto slow = pool.apply_async(sleep_ms, 300);
  EXPECT_FALSE(slow.ready());
  EXPECT_THROW(slow.successful(), mp::ValueError);
  EXPECT_THROW(slow.get(10ms), mp::TimeoutError);
  EXPECT_FALSE(slow.wait_for(10ms));
  EXPECT_EQ(slow.get(10s), 300);
  EXPECT_TRUE(slow.ready());
  EXPECT_TRUE(slow.successful());
  EXPECT_EQ(slow.get(), 300);  // again
  auto many = pool.map_async(square, std::vector{1, 2, 3});
  EXPECT_EQ(many.get(10s), (std::vector{1, 4, 9}));
}

TEST_F(PoolTest, ExceptionsComeBackWithTheirType) {
  mp::Pool pool(2);
  auto r = pool.apply_async(fail_on_three, 3);
  EXPECT_THROW(r.get(10s), std::invalid_argument);
  EXPECT_FALSE(r.successful());
  try {
    pool.map(fail_on_three, std::vector{1, 2, 3, 4});
    FAIL() << "map should have thrown";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "three is not allowed");
  }
  try {
    pool.apply(throw_custom, 1);
    FAIL() << "apply should have thrown";
  } catch (const mp::RemoteError& e) {
    EXPECT_NE(e.type_name().find("Custom"), std::string::npos) << e.type_name();
    EXPECT_NE(std::string(e.what()).find("custom failure"), std::string::npos);
  }
  EXPECT_EQ(pool.apply(square, 4), 16) << "the pool still works";
}

TEST_F(PoolTest, AWorkerKilledMidTaskFailsOnlyThatTask) {
  mp::Pool pool(2);
  std::vector<mp::AsyncResult<int>> results;
  for (int i = 0; i < 20; ++i) results.push_back(pool.apply_async(die_on_seven, i));
  for (int i = 0; i < 20; ++i) {
    if (i == 7) {
      try {
        results[i].get(30s);
        FAIL() << "task 7 should have failed";
      } catch (const mp::WorkerCrashed& e) {
        EXPECT_EQ(e.exitcode(), -SIGKILL);
        EXPECT_GT(e.pid(), 0);
      }
    } else {
      EXPECT_EQ(results[i].get(30s), i);
    }
  }
  auto aborted = pool.apply_async(abort_now);
  EXPECT_THROW(aborted.get(30s), mp::WorkerCrashed);
  EXPECT_EQ(pool.map(square, std::vector{1, 2, 3}), (std::vector{1, 4, 9}));
}

TEST_F(PoolTest, WorkersKilledFromOutsideAreReplaced) {
  mp::Pool pool(2);
  auto first = pool.map(my_pid, std::vector<int>(50, 0), 1);
  for (int pid : std::set<int>(first.begin(), first.end())) ::kill(pid, SIGKILL);
  std::vector<int> xs(50);
  std::iota(xs.begin(), xs.end(), 0);
  auto squares = pool.map(square, xs);
  EXPECT_EQ(squares[49], 49 * 49);
}

int g_initialized = 0;
void initialize() {
  g_initialized = 42;
}
int read_initialized(int) {
  return g_initialized;
}

TEST_F(PoolTest, InitializerAndMaxTasksPerChild) {
  mp::Pool pool(2, mp::PoolOptions{.initializer = initialize, .maxtasksperchild = 3});
  auto seen = pool.map(read_initialized, std::vector<int>(20, 0), 1);
  for (int v : seen) EXPECT_EQ(v, 42);
  auto pids = pool.map(my_pid, std::vector<int>(30, 0), 1);
  EXPECT_GE(std::set<int>(pids.begin(), pids.end()).size(), 10u) << "workers were not replaced";
}

TEST_F(PoolTest, CloseJoinAndTerminate) {
  {
    mp::Pool pool(2);
    auto r = pool.apply_async(sleep_ms, 100);
    EXPECT_THROW(pool.join(), mp::ValueError) << "join before close";
    pool.close();
    EXPECT_THROW(pool.apply_async(square, 1), mp::ValueError);
    pool.join();  // waits for the queued task
    EXPECT_TRUE(r.ready());
    EXPECT_EQ(r.get(), 100);
  }
  {
    mp::Pool pool(2);
    auto r = pool.apply_async(sleep_ms, 20'000);
    std::this_thread::sleep_for(100ms);
    const auto t0 = Clock::now();
    pool.terminate();
    EXPECT_LT(Clock::now() - t0, 5s);
    EXPECT_THROW(r.get(1s), mp::BrokenProcessPool);
  }
  {
    mp::Pool pool(2);
    pool.apply_async(sleep_ms, 20'000);
  }  // the destructor terminates, as Python's `with`
}

}  // namespace
