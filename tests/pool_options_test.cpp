// tests/pool_options_test.cpp — what a pool or an executor is told to do beyond running tasks:
// an initializer with arguments, bound arguments (mp::partial), a failing initializer, a task
// timeout, callbacks, progress, and the executor's timeouts; futures in containers.
//
// Every wait is bounded.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "mp/executor.hpp"
#include "mp/pool.hpp"
#include "support/methods.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

int g_base = 0;  // set in each worker by its initializer
void set_base(int base, std::string label) {
  g_base = base + static_cast<int>(label.size());
}
int plus_base(int x) {
  return g_base + x;
}
int add(int a, int b) {
  return a + b;
}
void fail_to_start() {
  throw std::runtime_error("bad config");
}
int square(int x) {
  return x * x;
}
int sleep_ms(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return ms;
}
int fail_on_three(int x) {
  if (x == 3) throw std::invalid_argument("three is not allowed");
  return x;
}

class PoolOptionsTest : public mp::testing::MethodTest {
 protected:
  mp::PoolOptions with_method(mp::PoolOptions o = {}) const {
    o.context = ctx();
    return o;
  }
};
MP_INSTANTIATE_FOR_EVERY_METHOD(PoolOptionsTest);

class PoolFeaturesTest : public mp::testing::LeakCheckedTest {};

TEST_P(PoolOptionsTest, AnInitializerGetsItsArguments) {
  mp::Pool pool(2, with_method({.initializer = mp::Initializer(set_base, 100, std::string("ab"))}));
  EXPECT_EQ(pool.map(plus_base, std::vector{1, 2, 3}), (std::vector{103, 104, 105}));
  mp::ProcessPoolExecutor ex(
      1, {.initializer = mp::Initializer(set_base, 7, std::string()), .mp_context = ctx()});
  EXPECT_EQ(ex.submit(plus_base, 1).result(30s), 8);
}

TEST_P(PoolOptionsTest, PartialBindsLeadingArguments) {
  mp::Pool pool(2, with_method());
  EXPECT_EQ(pool.map(mp::partial(add, 10), std::vector{1, 2, 3}), (std::vector{11, 12, 13}));
  EXPECT_EQ(pool.apply(mp::partial(add, 1, 2)), 3);
  EXPECT_EQ(pool.apply(mp::partial([](int a, int b) { return a * b; }, 6), 7), 42);
}

// Python's executor breaks the same way (test_concurrent_futures' FailingInitializerMixin);
// its Pool would start workers forever.
TEST_P(PoolOptionsTest, AFailingInitializerBreaksThePoolAndTheExecutor) {
  {
    mp::Pool pool(2, with_method({.initializer = fail_to_start}));
    try {
      // The pool may break before apply_async() (it then throws) or after (get() throws).
      pool.apply_async(square, 3).get(30s);
      FAIL() << "a task of a pool whose initializer fails cannot succeed";
    } catch (const mp::BrokenProcessPool& e) {
      EXPECT_NE(std::string(e.what()).find("bad config"), std::string::npos) << e.what();
    }
    EXPECT_THROW(pool.apply(square, 2), mp::BrokenProcessPool);
  }
  mp::ProcessPoolExecutor ex(2, {.initializer = fail_to_start, .mp_context = ctx()});
  // The pool may break before submit() (it then throws) or after (the future fails).
  EXPECT_THROW(ex.submit(square, 3).result(30s), mp::BrokenProcessPool);
  EXPECT_THROW(ex.submit(square, 4), mp::BrokenProcessPool);
}

TEST_F(PoolFeaturesTest, AnOverdueTaskFailsAloneAndItsWorkerIsReplaced) {
  mp::Pool pool(2, {.task_timeout = 300ms});
  const auto start = Clock::now();
  auto slow = pool.apply_async(sleep_ms, 2000);
  std::vector<int> xs(50);
  for (int i = 0; i < 50; ++i) xs[i] = i;
  EXPECT_EQ(pool.map(square, xs, 1).size(), 50u) << "the short tasks all succeed";
  EXPECT_THROW(slow.get(30s), mp::TimeoutError);
  EXPECT_LT(Clock::now() - start, 1900ms) << "the slow task was stopped, not waited for";
  EXPECT_EQ(pool.apply(square, 3), 9) << "a replacement worker serves";

  mp::ProcessPoolExecutor ex(1, {.task_timeout = 200ms});
  EXPECT_THROW(ex.submit(sleep_ms, 2000).result(30s), mp::TimeoutError);
  EXPECT_EQ(ex.submit(square, 5).result(30s), 25);
}

TEST_F(PoolFeaturesTest, CallbacksRunBeforeTheResultIsReady) {
  mp::Pool pool(2);
  std::atomic<int> value{0};
  std::string error;
  std::mutex mutex;
  auto ok = pool.apply_async(square, 7, mp::callbacks([&](int v) { value = v; }));
  EXPECT_EQ(ok.get(30s), 49);
  EXPECT_EQ(value.load(), 49) << "the callback ran before get() returned";
  auto bad = pool.apply_async(fail_on_three, 3,
                              mp::callbacks([&](int) { value = -1; },
                                            [&](const std::exception& e) {
                                              std::lock_guard g(mutex);
                                              error = e.what();
                                            }));
  EXPECT_THROW(bad.get(30s), std::invalid_argument);
  {
    std::lock_guard g(mutex);
    EXPECT_EQ(error, "three is not allowed");
  }
  EXPECT_EQ(value.load(), 49) << "no success callback for a failure";
  std::vector<int> got;
  auto all = pool.map_async(square, std::vector{1, 2, 3}, 1,
                            mp::callbacks([&](const std::vector<int>& v) { got = v; }));
  all.wait();
  EXPECT_EQ(got, (std::vector{1, 4, 9}));
  std::exception_ptr caught;
  auto failed =
      pool.starmap_async(add, std::vector<std::tuple<int, int>>{{1, 2}}, 0,
                         mp::callbacks(nullptr, [&](std::exception_ptr e) { caught = e; }));
  EXPECT_EQ(failed.get(30s), (std::vector{3}));
  EXPECT_EQ(caught, nullptr);
}

TEST_F(PoolFeaturesTest, ProgressIsReportedForMaps) {
  std::mutex mutex;
  std::vector<mp::ProgressInfo> seen;
  mp::Pool pool(2, {.progress = mp::Progress::callback([&](const mp::ProgressInfo& p) {
                                  std::lock_guard g(mutex);
                                  seen.push_back(p);
                                }).every(0ms)});
  std::vector<int> xs(100, 2);
  EXPECT_EQ(pool.map(square, xs, 10).size(), 100u);
  for (int x : pool.imap(square, xs, 25)) (void)x;
  std::lock_guard g(mutex);
  ASSERT_GE(seen.size(), 2u);
  std::size_t finals = 0;
  for (const auto& p : seen) {
    EXPECT_EQ(p.total, 100u);
    EXPECT_LE(p.done, p.total);
    if (p.done == p.total) ++finals;
  }
  EXPECT_EQ(finals, 2u) << "one final report per map";

  // A bar on a pipe (not a terminal): plain lines, the last one complete.
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  {
    mp::ProcessPoolExecutor ex(2, {.progress = mp::Progress::bar(fds[1])});
    int sum = 0;
    for (int x : ex.map(square, std::vector{1, 2, 3, 4})) sum += x;
    EXPECT_EQ(sum, 30);
  }
  ::close(fds[1]);
  std::string out;
  char buf[512];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;)
    out.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  EXPECT_NE(out.find("4/4 (100%)"), std::string::npos) << out;
  EXPECT_EQ(out.find('\r'), std::string::npos) << "no redraws off a terminal";
}

TEST_F(PoolFeaturesTest, TheExecutorsTimeoutsRaiseTimeoutError) {
  mp::ProcessPoolExecutor ex(2, {.task_timeout = 3s});  // bounds the slow tasks left running
  auto results = ex.map(sleep_ms, std::vector{2000}, 100ms);
  const auto start = Clock::now();
  EXPECT_THROW(
      {
        for (int x : results) (void)x;
      },
      mp::TimeoutError);
  EXPECT_LT(Clock::now() - start, 1500ms);
  std::vector<mp::Future<int>> fs{ex.submit(square, 2), ex.submit(sleep_ms, 2000)};
  int finished = 0;
  EXPECT_THROW(
      {
        for (auto& f : mp::as_completed(fs, 500ms)) {
          (void)f.result();
          ++finished;
        }
      },
      mp::TimeoutError);
  EXPECT_EQ(finished, 1);
}

TEST_F(PoolFeaturesTest, FuturesFillContainersAndKeyMaps) {
  std::vector<mp::Future<int>> empty(3);
  EXPECT_FALSE(empty[0].valid());
  EXPECT_THROW(empty[0].result(), mp::ValueError);
  mp::ProcessPoolExecutor ex(2);
  std::unordered_map<mp::Future<int>, int> which;  // Python's {executor.submit(f, x): x}
  for (int x : {1, 2, 3}) which[ex.submit(square, x)] = x;
  std::set<int> inputs;
  for (auto& [f, x] : which) {
    EXPECT_EQ(f.result(30s), x * x);
    inputs.insert(x);
  }
  EXPECT_EQ(inputs, (std::set<int>{1, 2, 3}));
  std::vector<mp::Future<int>> keys;
  for (auto& [f, x] : which) keys.push_back(f);
  auto copy = keys[0];
  EXPECT_TRUE(copy == keys[0]);
  EXPECT_FALSE(keys[0] == keys[1]);
  std::size_t n = 0;
  for (auto& f : mp::as_completed(keys)) n += f.done();
  EXPECT_EQ(n, 3u);
  EXPECT_EQ(mp::wait(keys).done.size(), 3u);
}

}  // namespace
