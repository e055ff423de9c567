// bench/manager_benchmark.cpp — calls through a Manager's proxies; twin: manager_bench.py.
// Every call is a round trip to the server process, so these cases measure that round trip as
// a user meets it: from a child (the usual place for a proxy), from the parent, and from several
// clients at once. Client processes are started once per benchmark and run a batch on command,
// so process start-up is not measured; `ops` tells the runner how many operations one batch has.
#include <benchmark/benchmark.h>

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "mp/connection.hpp"
#include "mp/managers.hpp"
#include "mp/process.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr int kBatch = 1000;
// A batch that takes longer than this means a client or the server hung.
constexpr auto kBatchLimit = 120s;

// A child process that runs `work(n)` whenever the parent asks, and answers with the seconds
// the work took by its own clock.
class Client {
 public:
  template <class Work>
  explicit Client(Work work) {
    auto [mine, theirs] = mp::Pipe();
    conn_ = std::move(mine);
    process_.emplace([c = std::move(theirs), work]() mutable {
      for (int n; (n = c.recv<int>()) > 0;) {
        const auto t0 = Clock::now();
        work(n);
        c.send(std::chrono::duration<double>(Clock::now() - t0).count());
      }
    });
    // Dies with the benchmark program if that is killed mid-run.
    process_->set_daemon(true);
    process_->start();
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client() {
    try {
      conn_.send(0);
    } catch (...) {  // the child is gone already; join below says so
    }
    if (!process_->join(30s)) {
      process_->kill();
      process_->join();
    }
  }

  void start(int n) { conn_.send(n); }
  // The seconds the child took for its batch.
  double wait() {
    if (!conn_.poll(kBatchLimit)) throw std::runtime_error("manager bench: a client hung");
    return conn_.recv<double>();
  }

 private:
  mp::Connection conn_;
  std::optional<mp::Process> process_;
};

// --- one dict set + one get, from a child ----------------------------------------------------

void dict_set_get_from_child(benchmark::State& state) {
  mp::Manager manager;
  auto d = manager.dict<std::string, int>();
  Client client([d](int n) mutable {
    for (int i = 0; i < n; ++i) {
      d.set("k", i);
      benchmark::DoNotOptimize(d.get("k"));
    }
  });
  for (auto _ : state) {
    client.start(kBatch);
    state.SetIterationTime(client.wait());
  }
  state.counters["ops"] = kBatch;
}

// --- put + get of a small int through a manager queue, from the parent ------------------------

void queue_put_get(benchmark::State& state) {
  mp::Manager manager;
  auto q = manager.queue<int>();
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) {
      q.put(i);
      benchmark::DoNotOptimize(q.get());
    }
  }
  state.counters["ops"] = kBatch;
}

// The same with timeouts: a call with a timeout waits for its reply differently in the client,
// as every call that cannot block (set, get, increment) does.
void queue_put_get_timeout(benchmark::State& state) {
  mp::Manager manager;
  auto q = manager.queue<int>();
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) {
      q.put(i, 10s);
      benchmark::DoNotOptimize(q.get(10s));
    }
  }
  state.counters["ops"] = kBatch;
}

// --- N clients each incrementing one dict entry ----------------------------------------------

// Time per increment over all clients together: the wall time of a round in which each of the
// clients does kBatch increments, divided by all of them.
template <int clients>
void dict_increment_clients(benchmark::State& state) {
  mp::Manager manager;
  auto d = manager.dict<std::string, long>();
  d.set("k", 0);
  std::vector<std::unique_ptr<Client>> cs;
  for (int c = 0; c < clients; ++c) {
    cs.push_back(std::make_unique<Client>([d](int n) mutable {
      for (int i = 0; i < n; ++i) d.increment("k", 1);
    }));
  }
  long rounds = 0;
  for (auto _ : state) {
    for (auto& c : cs) c->start(kBatch);
    for (auto& c : cs) c->wait();
    ++rounds;
  }
  // Not timed: every increment arrived, none was lost to a race.
  if (d.get("k") != rounds * clients * kBatch) state.SkipWithError("increments were lost");
  state.counters["ops"] = clients * kBatch;
}

}  // namespace

BENCHMARK(dict_set_get_from_child)->Name("manager_dict/mp")->UseManualTime();
BENCHMARK(queue_put_get)->Name("manager_queue/mp")->UseRealTime();
BENCHMARK(queue_put_get_timeout)->Name("manager_queue_timeout/mp")->UseRealTime();
BENCHMARK(dict_increment_clients<1>)->Name("manager_clients_1/mp")->UseRealTime();
BENCHMARK(dict_increment_clients<4>)->Name("manager_clients_4/mp")->UseRealTime();
