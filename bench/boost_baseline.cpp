// bench/boost_baseline.cpp — Boost.Interprocess message_queue, a baseline for mp::Queue
// (built only where Boost's headers are installed; registered into channels_benchmark).
#include <benchmark/benchmark.h>

#include <boost/interprocess/ipc/message_queue.hpp>
#include <string>

#include "support/peer.hpp"

namespace {

namespace bip = boost::interprocess;

constexpr int kSmall = 100'000;

void queue_small_ints_boost(benchmark::State& state) {
  const std::string name = "mp-bench-boost-" + std::to_string(::getpid());
  bip::message_queue::remove(name.c_str());
  bip::message_queue q(bip::create_only, name.c_str(), 4096, sizeof(int));
  mp::bench::Peer peer([&name] {
    bip::message_queue mq(bip::open_only, name.c_str());
    for (int i = 0; i < kSmall; ++i) mq.send(&i, sizeof i, 0);
  });
  peer.run(
      state,
      [&] {
        int v;
        bip::message_queue::size_type got;
        unsigned priority;
        for (int i = 0; i < kSmall; ++i) q.receive(&v, sizeof v, got, priority);
      },
      kSmall);
  bip::message_queue::remove(name.c_str());
}

}  // namespace

BENCHMARK(queue_small_ints_boost)->Name("queue_small_ints/boost_message_queue")->UseRealTime();
