// tests/executor_test.cpp — ProcessPoolExecutor and its Futures: submit, map, cancel, callbacks,
// wait, as_completed, shutdown, and a worker that dies.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <numeric>
#include <stdexcept>
#include <thread>
#include <vector>

#include "mp/executor.hpp"
#include "mp/futures.hpp"
#include "support/leak_check.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class ExecutorTest : public mp::testing::LeakCheckedTest {};

int square(int n) {
  return n * n;
}
int sleep_ms(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return ms;
}
int fail(int) {
  throw std::out_of_range("no such item");
}
int die(int) {
  std::raise(SIGKILL);
  return 0;
}

TEST_F(ExecutorTest, SubmitAndResult) {
  mp::ProcessPoolExecutor ex(2);
  auto f = ex.submit(square, 5);
  EXPECT_EQ(f.result(10s), 25);
  EXPECT_TRUE(f.done());
  EXPECT_FALSE(f.cancelled());
  EXPECT_EQ(f.exception(), nullptr);
  auto slow = ex.submit(sleep_ms, 300);
  EXPECT_THROW(slow.result(10ms), mp::TimeoutError);
  EXPECT_EQ(slow.result(10s), 300);
}

TEST_F(ExecutorTest, MapIsOrderedAndLazy) {
  mp::ProcessPoolExecutor ex(3);
  std::vector<int> xs(50);
  std::iota(xs.begin(), xs.end(), 0);
  std::vector<int> got;
  for (int x : ex.map(square, xs)) got.push_back(x);
  ASSERT_EQ(got.size(), xs.size());
  for (int i = 0; i < 50; ++i) EXPECT_EQ(got[i], i * i);
  std::vector<int> chunked;
  for (int x : ex.map(square, xs, 7)) chunked.push_back(x);
  EXPECT_EQ(chunked, got);
  auto failing = ex.map(fail, std::vector{1, 2});
  EXPECT_THROW(
      {
        for (int x : failing) (void)x;
      },
      std::out_of_range);
}

TEST_F(ExecutorTest, PendingFuturesCanBeCancelledRunningOnesNot) {
  mp::ProcessPoolExecutor ex(1);  // one worker, window of two: the rest wait here
  std::vector<mp::Future<int>> fs;
  for (int i = 0; i < 6; ++i) fs.push_back(ex.submit(sleep_ms, 200));
  std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(fs[0].running());
  EXPECT_FALSE(fs[0].cancel());
  EXPECT_TRUE(fs[5].cancel());
  EXPECT_TRUE(fs[5].cancelled());
  EXPECT_TRUE(fs[5].done());
  EXPECT_THROW(fs[5].result(), mp::CancelledError);
  EXPECT_EQ(fs[0].result(10s), 200);
  ex.shutdown(true, /*cancel_futures=*/true);
  int cancelled = 0;
  for (auto& f : fs) cancelled += f.cancelled() ? 1 : 0;
  EXPECT_GE(cancelled, 2) << "shutdown(cancel_futures) left pending futures running";
  EXPECT_THROW(ex.submit(square, 1), mp::Error);
}

TEST_F(ExecutorTest, CallbacksWaitAndAsCompleted) {
  mp::ProcessPoolExecutor ex(3);
  std::atomic<int> called{0};
  auto quick = ex.submit(square, 3);
  quick.add_done_callback([&](mp::Future<int>& f) {
    if (f.result() == 9) called.fetch_add(1);
  });
  std::vector<mp::Future<int>> fs{ex.submit(sleep_ms, 400), ex.submit(sleep_ms, 10),
                                  ex.submit(sleep_ms, 200)};
  auto [done, not_done] = mp::wait(fs, 5s, mp::ReturnWhen::first_completed);
  EXPECT_GE(done.size(), 1u);
  EXPECT_GE(not_done.size(), 1u);
  std::vector<int> order;
  for (auto& f : mp::as_completed(fs)) order.push_back(f.result());
  EXPECT_EQ(order, (std::vector{10, 200, 400}));
  auto all = mp::wait(fs);
  EXPECT_EQ(all.done.size(), 3u);
  EXPECT_TRUE(quick.done());
  quick.add_done_callback([&](mp::Future<int>&) { called.fetch_add(1); });  // runs at once
  EXPECT_EQ(called.load(), 2);
}

TEST_F(ExecutorTest, AWorkerThatDiesFailsOnlyItsFuture) {
  mp::ProcessPoolExecutor ex(2);
  auto dead = ex.submit(die, 0);
  std::vector<mp::Future<int>> fs;
  for (int i = 0; i < 10; ++i) fs.push_back(ex.submit(square, i));
  EXPECT_THROW(dead.result(30s), mp::WorkerCrashed);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(fs[i].result(30s), i * i);
  auto failed = ex.submit(fail, 0);
  EXPECT_THROW(failed.result(10s), std::out_of_range);
  auto [done, not_done] = mp::wait(std::vector{failed}, 1s, mp::ReturnWhen::first_exception);
  EXPECT_EQ(done.size(), 1u);
}

}  // namespace
