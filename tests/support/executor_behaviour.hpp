// tests/support/executor_behaviour.hpp — what every executor must do, as Python's
// ProcessPoolExecutor does: one body per behaviour, run against mp::ProcessPoolExecutor under
// every start method (tests/executor_test.cpp) and mp::mpi::PoolExecutor under mpirun
// (tests/mpi/executor_test.cpp).
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "mp/errors.hpp"
#include "mp/futures.hpp"

namespace mp::testing::executor_behaviour {

using namespace std::chrono_literals;

inline int square(int x) {
  return x * x;
}
inline int sleep_ms(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return ms;
}
inline void nothing() {}
inline int fail(int x) {
  throw std::invalid_argument("bad " + std::to_string(x));
}
struct Scale {
  int k = 1;
  int operator()(int x) const { return k * x; }
  template <class A>
  void serialize(A& a) {
    a(k);
  }
};

template <class Executor>
void submit_and_result(Executor& ex) {
  auto f = ex.submit(square, 7);
  EXPECT_EQ(f.result(10s), 49);
  EXPECT_TRUE(f.done());
  EXPECT_FALSE(f.cancelled());
  EXPECT_EQ(f.exception(), nullptr);
  auto slow = ex.submit(sleep_ms, 300);
  EXPECT_THROW(slow.result(10ms), mp::TimeoutError);
  EXPECT_EQ(slow.result(10s), 300);
  ex.submit(nothing).result(10s);
  EXPECT_EQ(ex.submit(Scale{3}, 5).result(10s), 15);
  EXPECT_EQ(ex.submit([](int a, int b) { return a - b; }, 9, 4).result(10s), 5);
  auto failed = ex.submit(fail, 3);
  EXPECT_THROW(failed.result(10s), std::invalid_argument);
  EXPECT_NE(failed.exception(), nullptr);
}

template <class Executor>
void map_keeps_order(Executor& ex) {
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
  auto failing = ex.map(fail, std::vector{1, 2, 3});
  EXPECT_THROW(
      {
        for (int v : failing) (void)v;
      },
      std::invalid_argument);
}

template <class Executor>
void wait_and_as_completed(Executor& ex) {
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
  // A callback runs just after its future is marked done, on the executor's result thread.
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (called.load() < 285 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(called.load(), 285);

  // A task that sleeps 1 s is not done 50 ms later; first_exception returns at the failure.
  std::vector<mp::Future<int>> slow{ex.submit(sleep_ms, 1000), ex.submit(fail, 1)};
  auto first = mp::wait(slow, 20s, mp::ReturnWhen::first_exception);
  EXPECT_TRUE(first.done.size() == 1 && first.done[0] == slow[1]);
  auto timed = mp::wait(slow, 50ms);
  EXPECT_EQ(timed.not_done.size(), 1u);
  EXPECT_THROW(slow[0].result(1ms), mp::TimeoutError);
  EXPECT_EQ(slow[0].result(20s), 1000);
}

}  // namespace mp::testing::executor_behaviour
