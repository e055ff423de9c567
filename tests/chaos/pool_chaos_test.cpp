// tests/chaos/pool_chaos_test.cpp — Pool and ProcessPoolExecutor workers SIGKILLed inside a
// task (exactly that task fails, with WorkerCrashed; all others succeed with the right results),
// and Manager clients SIGKILLed inside a call (the server goes on serving the others; every
// acknowledged call landed once).
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "chaos/chaos.hpp"
#include "mp/executor.hpp"
#include "mp/managers.hpp"
#include "mp/pool.hpp"
#include "mp/process.hpp"
#include "support/leak_check.hpp"

namespace mp::chaos {
namespace {

class PoolChaos : public mp::testing::LeakCheckedTest {};

constexpr int kTasks = 6;
constexpr std::size_t kWorkers = 2;

// What tasks report while they run. Workers are forked after it is made, so they share it.
struct PoolBoard {
  std::atomic<std::int32_t> pid[kTasks];       // the worker that runs task k
  std::atomic<std::uint32_t> started[kTasks];  // iteration + 1 once task k began
  std::atomic<std::uint64_t> ops;              // the victim task's loop turns
  std::atomic<std::uint32_t> release;          // iteration + 1: the victim task may return
};
PoolBoard* g_board = nullptr;

std::int64_t expected_result(int iteration, int k) {
  return static_cast<std::int64_t>(iteration) * 1000 + k * k;
}

// Task k of an iteration. The victim loops (counting turns) until released, so that it is known
// to be inside the task when the parent kills its worker; the others do a little work.
std::int64_t chaos_task(int iteration, int k, bool victim) {
  PoolBoard* b = g_board;
  b->pid[k].store(static_cast<std::int32_t>(::getpid()));
  b->started[k].store(static_cast<std::uint32_t>(iteration + 1));
  volatile std::uint64_t sink = 0;
  if (victim) {
    const auto end = Clock::now() + 60s;
    while (b->release.load() != static_cast<std::uint32_t>(iteration + 1) && Clock::now() < end) {
      for (int i = 0; i < 100; ++i) sink = sink + static_cast<std::uint64_t>(i);
      b->ops.fetch_add(1);
    }
  } else {
    for (int i = 0; i < 20000; ++i) sink = sink + static_cast<std::uint64_t>(i);
  }
  return expected_result(iteration, k);
}

// Waits (bounded) for the victim task to run `target` turns, spins `delay_us`, kills its worker.
bool kill_victim_task(int iteration, int victim, std::uint64_t target, unsigned delay_us) {
  PoolBoard* b = g_board;
  const auto end = Clock::now() + 30s;
  while (Clock::now() < end &&
         (b->started[victim].load() != static_cast<std::uint32_t>(iteration + 1) ||
          b->ops.load() < target)) {
    yield_now();
  }
  spin_for_us(delay_us);
  const bool ready = b->started[victim].load() == static_cast<std::uint32_t>(iteration + 1);
  if (ready) ::kill(b->pid[victim].load(), SIGKILL);
  b->release.store(static_cast<std::uint32_t>(iteration + 1));
  return ready;
}

// One iteration: kTasks tasks, one of them the victim. `get(k)` waits for task k's outcome.
template <class Submit, class Get>
void run_pool_iteration(const std::string& op, int index, Submit submit, Get get) {
  Iteration it(op, index);
  Rng rng(op, index);
  PoolBoard* b = g_board;
  b->ops.store(0);
  const int victim = static_cast<int>(rng.below(kTasks));
  const std::uint64_t target = rng.below(2000);
  const unsigned delay = static_cast<unsigned>(rng.below(201));
  for (int k = 0; k < kTasks; ++k) submit(index, k, k == victim);
  const bool sent = kill_victim_task(index, victim, target, delay);
  it.check(sent, "the victim task did not start within 30 s");
  const std::int32_t victim_pid = b->pid[victim].load();
  it.note("task " + std::to_string(victim) + " of " + std::to_string(kTasks) + " (worker " +
          std::to_string(victim_pid) + ") killed after " + std::to_string(target) + " turns and " +
          std::to_string(delay) + " us");
  for (int k = 0; k < kTasks; ++k) {
    try {
      const std::int64_t r = get(k);
      it.check(k != victim, "the task whose worker was killed succeeded");
      it.check(r == expected_result(index, k), "task " + std::to_string(k) + " returned " +
                                                   std::to_string(r) + ", not " +
                                                   std::to_string(expected_result(index, k)));
    } catch (const mp::WorkerCrashed& e) {
      if (it.check(k == victim, "task " + std::to_string(k) +
                                    " failed with WorkerCrashed, but only task " +
                                    std::to_string(victim) + "'s worker was killed: " + e.what())) {
        it.killed();
        it.check(e.pid() == victim_pid && e.exitcode() == -SIGKILL,
                 "WorkerCrashed names pid " + std::to_string(e.pid()) + " exit " +
                     std::to_string(e.exitcode()) + ", the victim was " +
                     std::to_string(victim_pid) + " killed by SIGKILL");
      }
    } catch (const mp::TimeoutError&) {
      it.check(false, "task " + std::to_string(k) + " has no outcome after " +
                          std::to_string(child_timeout().count()) + " ms");
    } catch (const std::exception& e) {
      it.check(false, "task " + std::to_string(k) + " threw: " + e.what());
    }
  }
}

TEST_F(PoolChaos, PoolWorkerKilledInTask) {
  Shared<PoolBoard> board;
  g_board = board.get();
  {
    mp::Pool pool(kWorkers);
    for (int i = 0; i < iterations(); ++i) {
      std::vector<mp::AsyncResult<std::int64_t>> results;
      run_pool_iteration(
          "Pool task (worker killed)", i,
          [&](int iteration, int k, bool victim) {
            results.push_back(pool.apply_async(chaos_task, iteration, k, victim));
          },
          [&](int k) { return results[static_cast<std::size_t>(k)].get(child_timeout()); });
    }
    pool.close();
    pool.join();
  }
  g_board = nullptr;
}

TEST_F(PoolChaos, ExecutorWorkerKilledInTask) {
  Shared<PoolBoard> board;
  g_board = board.get();
  {
    mp::ProcessPoolExecutor ex(kWorkers);
    for (int i = 0; i < iterations(); ++i) {
      std::vector<mp::Future<std::int64_t>> futures;
      run_pool_iteration(
          "ProcessPoolExecutor task (worker killed)", i,
          [&](int iteration, int k, bool victim) {
            futures.push_back(ex.submit(chaos_task, iteration, k, victim));
          },
          [&](int k) { return futures[static_cast<std::size_t>(k)].result(child_timeout()); });
    }
    ex.shutdown(true);
  }
  g_board = nullptr;
}

// --- Manager: clients killed inside a call ------------------------------------------------------

constexpr int kClients = 3;
constexpr std::uint64_t kCalls = 300;      // each client's least
constexpr std::uint64_t kMaxCalls = 3000;  // and most: it goes on until the victim is dead

struct ManagerBoard {
  std::atomic<std::uint64_t> acked[kClients];
  // Filled by a verifier process (bounded, unlike a call made here): what the server holds.
  std::atomic<std::uint32_t> stop;
  std::atomic<std::uint32_t> listed[kClients * kMaxCalls];  // how often each id is in the list
  std::atomic<std::int64_t> value[kClients];                // d["c<i>"] + 1; 0 when absent
  std::atomic<std::uint32_t> verified;
  ChildErrors errors;
};

void run_manager_iteration(mp::Manager& manager, int index) {
  const std::string op = "Manager call (client killed)";
  Iteration it(op, index);
  Rng rng(op, index);
  Shared<ManagerBoard> board;
  ManagerBoard* b = board.get();
  auto list = manager.list<std::uint64_t>();
  auto dict = manager.dict<std::string, std::int64_t>();
  // Client i alternates: even calls append its id to the shared list, odd ones set its key.
  std::vector<mp::Process> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([b, list, dict, i]() mutable {
      std::string key(1, 'c');
      key += std::to_string(i);
      try {
        for (std::uint64_t s = 0; s < kCalls || (b->stop.load() == 0 && s < kMaxCalls); ++s) {
          if (s % 2 == 0) {
            list.append(static_cast<std::uint64_t>(i) * kMaxCalls + s);
          } else {
            dict.set(key, static_cast<std::int64_t>(s));
          }
          b->acked[i].store(s + 1);
        }
      } catch (const std::exception& e) {
        b->errors.report(std::string("client: ") + e.what());
      }
    });
  }
  for (auto& c : clients) c.start();
  const int victim = static_cast<int>(rng.below(kClients));
  const std::uint64_t target = rng.below(kCalls * 3 / 4);
  const unsigned delay = static_cast<unsigned>(rng.below(201));
  bool landed = kill_when(
      clients[victim], [&] { return b->acked[victim].load() >= target; }, delay, 20s);
  it.check(join_bounded(clients[victim], 10s), "the victim did not end after SIGKILL");
  landed = landed && clients[victim].exitcode() == -9;
  if (landed) it.killed();
  b->stop.store(1);
  it.note("client " + std::to_string(victim) + (landed ? " killed" : " not killed") + " after " +
          std::to_string(delay) + " us at call " + std::to_string(b->acked[victim].load()));
  for (int i = 0; i < kClients; ++i) {
    if (i == victim) continue;
    it.check(join_bounded(clients[i], child_timeout()),
             "a surviving client hung (the server stopped serving?)");
    it.check(clients[i].exitcode() == 0 && b->acked[i].load() >= kCalls,
             "a surviving client did not finish its calls");
  }
  it.check(b->errors.count.load() == 0, b->errors.first());

  mp::Process verifier([b, list, dict]() mutable {
    try {
      for (std::uint64_t id : list.copy()) {
        if (id >= kClients * kMaxCalls) {
          b->errors.report("verifier: unknown id " + std::to_string(id) + " in the list");
          continue;
        }
        b->listed[id].fetch_add(1);
      }
      for (const auto& [k, v] : dict.items()) {
        const int i = k.size() == 2 && k[0] == 'c' ? k[1] - '0' : -1;
        if (i < 0 || i >= kClients) {
          b->errors.report("verifier: unknown key " + k);
          continue;
        }
        b->value[i].store(v + 1);
      }
      b->verified.store(1);
    } catch (const std::exception& e) {
      b->errors.report(std::string("verifier: ") + e.what());
    }
  });
  verifier.start();
  it.check(join_bounded(verifier, child_timeout()),
           "reading the list and dict back hung (the server stopped serving?)");
  it.check(b->verified.load() == 1, "the verifier failed: " + b->errors.first());

  for (int i = 0; i < kClients; ++i) {
    const std::uint64_t acked = b->acked[i].load();
    const bool dead = landed && i == victim;
    std::uint64_t wrong = 0;
    for (std::uint64_t s = 0; s < kMaxCalls; s += 2) {
      const std::uint32_t n = b->listed[static_cast<std::uint64_t>(i) * kMaxCalls + s];
      if (s < acked ? n != 1 : (dead && s == acked ? n > 1 : n != 0)) ++wrong;
    }
    it.check(wrong == 0, "client " + std::to_string(i) + (dead ? " (killed)" : "") + ": " +
                             std::to_string(wrong) + " appends missing, doubled or phantom (" +
                             std::to_string(acked) + " calls acknowledged)");
    // The key holds the last acknowledged odd call, or the killed client's call in flight.
    std::int64_t last_odd = -1;
    for (std::uint64_t s = 1; s < acked; s += 2) last_odd = static_cast<std::int64_t>(s);
    const std::int64_t v = b->value[i].load() - 1;  // -1: absent
    const bool ok =
        v == last_odd || (dead && acked % 2 == 1 && v == static_cast<std::int64_t>(acked));
    it.check(ok, "client " + std::to_string(i) + "'s key holds " + std::to_string(v) +
                     ", expected " + std::to_string(last_odd));
  }
}

TEST_F(PoolChaos, ManagerClientKilledInCall) {
  mp::Manager manager;
  for (int i = 0; i < iterations(); ++i) run_manager_iteration(manager, i);
}

}  // namespace
}  // namespace mp::chaos
