// bench/channels_benchmark.cpp — Queue and Pipe between two processes; twin: channels_bench.py.
// Time per message; `ops` counts messages per iteration.
#include <benchmark/benchmark.h>
#include <linux/futex.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "mp/connection.hpp"
#include "mp/queues.hpp"
#include "support/peer.hpp"

namespace {

// --- the raw baseline: a single-producer single-consumer ring of fixed slots, futex wake-ups ---

template <std::size_t Slot, std::size_t Slots>
struct RawRing {
  alignas(64) std::atomic<std::uint32_t> tail{0};
  alignas(64) std::atomic<std::uint32_t> head{0};
  alignas(64) std::atomic<std::uint32_t> consumer_waiting{0};
  alignas(64) std::atomic<std::uint32_t> producer_waiting{0};
  alignas(64) char slots[Slots][Slot];

  // Spins, then sleeps while `word` == value; `flag` tells the other side a wake is needed.
  static void wait(std::atomic<std::uint32_t>& word, std::uint32_t value,
                   std::atomic<std::uint32_t>& flag) {
    for (int i = 0; i < 1000; ++i) {
      if (word.load(std::memory_order_acquire) != value) return;
      __builtin_ia32_pause();
    }
    flag.store(1, std::memory_order_seq_cst);
    if (word.load(std::memory_order_seq_cst) == value) {
      ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT, value, nullptr,
                nullptr, 0);
    }
    flag.store(0, std::memory_order_relaxed);
  }
  static void wake(std::atomic<std::uint32_t>& word, std::atomic<std::uint32_t>& flag) {
    if (flag.load(std::memory_order_seq_cst)) {
      ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE, 1, nullptr, nullptr,
                0);
    }
  }
  void put(const void* data) {
    std::uint32_t t = tail.load(std::memory_order_relaxed);
    std::uint32_t h;
    while (t - (h = head.load(std::memory_order_seq_cst)) == Slots) wait(head, h, producer_waiting);
    std::memcpy(slots[t % Slots], data, Slot);
    tail.store(t + 1, std::memory_order_seq_cst);
    wake(tail, consumer_waiting);
  }
  void get(void* out) {
    std::uint32_t h = head.load(std::memory_order_relaxed);
    while (tail.load(std::memory_order_seq_cst) == h) wait(tail, h, consumer_waiting);
    std::memcpy(out, slots[h % Slots], Slot);
    head.store(h + 1, std::memory_order_seq_cst);
    wake(head, producer_waiting);
  }
};

constexpr int kSmall = 100'000;

void queue_small_ints_mp(benchmark::State& state) {
  mp::Queue<int> q;
  mp::bench::Peer peer([q]() mutable {
    for (int i = 0; i < kSmall; ++i) q.put(i);
  });
  peer.run(
      state,
      [&] {
        for (int i = 0; i < kSmall; ++i) benchmark::DoNotOptimize(q.get());
      },
      kSmall);
}

void queue_small_ints_raw_ring(benchmark::State& state) {
  auto* ring = mp::bench::shared_object<RawRing<8, 4096>>();
  mp::bench::Peer peer([ring] {
    for (long i = 0; i < kSmall; ++i) ring->put(&i);
  });
  peer.run(
      state,
      [&] {
        long v;
        for (int i = 0; i < kSmall; ++i) ring->get(&v);
      },
      kSmall);
}

constexpr int k64K = 2000;

void queue_64k_mp(benchmark::State& state) {
  mp::Queue<std::string> q;
  mp::bench::Peer peer([q]() mutable {
    std::string msg(64 << 10, 'x');
    for (int i = 0; i < k64K; ++i) q.put(msg);
  });
  peer.run(
      state,
      [&] {
        for (int i = 0; i < k64K; ++i) benchmark::DoNotOptimize(q.get());
      },
      k64K);
}

void queue_64k_raw_ring(benchmark::State& state) {
  auto* ring = mp::bench::shared_object<RawRing<64 << 10, 64>>();
  mp::bench::Peer peer([ring] {
    std::vector<char> msg(64 << 10, 'x');
    for (int i = 0; i < k64K; ++i) ring->put(msg.data());
  });
  std::vector<char> out(64 << 10);
  peer.run(
      state,
      [&] {
        for (int i = 0; i < k64K; ++i) ring->get(out.data());
      },
      k64K);
}

void queue_100mb_mp(benchmark::State& state) {
  mp::Queue<std::string> q;
  const std::string big(100'000'000, 'x');
  mp::bench::Peer peer([q, &big]() mutable { q.put(big); });
  // Steady state, as in a program that sends such messages repeatedly: the first round warms
  // the encoding buffer and leaves a body to reuse. (The CPython twin's first batch warms too.)
  peer.start_round();
  benchmark::DoNotOptimize(q.get());
  peer.wait_round();
  peer.run(
      state, [&] { benchmark::DoNotOptimize(q.get()); }, 1);
}

void queue_100mb_raw_memcpy(benchmark::State& state) {
  std::string src(100'000'000, 'x');
  for (auto _ : state) {
    char* fresh = new char[src.size()];  // fresh pages, as a received message gets
    std::memcpy(fresh, src.data(), src.size());
    benchmark::DoNotOptimize(fresh);
    delete[] fresh;
  }
}

constexpr int kPings = 5000;

void pipe_roundtrip_mp(benchmark::State& state) {
  auto [a, b] = mp::Pipe();
  mp::bench::run_pair(
      state,
      [c = b]() mutable {
        for (int i = 0; i < kPings; ++i) c.send(c.recv<int>());
      },
      [&] {
        for (int i = 0; i < kPings; ++i) {
          a.send(i);
          benchmark::DoNotOptimize(a.recv<int>());
        }
      },
      kPings);
}

// Like mp's Connection::recv (src/ipc/connection.cpp), the spinning form looks for the message
// for up to 30 µs before it sleeps in read(); the sleeping form reads at once. mp spins by
// default; `cpu_per_op` shows what that costs.
bool wait_readable_spinning(int fd) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(30);
  do {
    char probe;
    if (::recv(fd, &probe, 1, MSG_PEEK | MSG_DONTWAIT) >= 0 || errno != EAGAIN) return true;
    for (int i = 0; i < 32; ++i) __builtin_ia32_pause();
  } while (std::chrono::steady_clock::now() < until);
  return false;
}

template <bool Spin>
bool read_long(int fd, long& v) {
  if (Spin) wait_readable_spinning(fd);
  return ::read(fd, &v, sizeof v) == sizeof v;
}

template <bool Spin>
void pipe_roundtrip_raw_socketpair(benchmark::State& state) {
  int fds[2];
  ::socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
  mp::bench::run_pair(
      state,
      [fd = fds[1]] {
        long v;
        for (int i = 0; i < kPings; ++i) {
          if (!read_long<Spin>(fd, v) || ::write(fd, &v, sizeof v) != sizeof v) return;
        }
      },
      [&] {
        for (long i = 0; i < kPings; ++i) {
          long v = i;
          if (::write(fds[0], &v, sizeof v) != sizeof v || !read_long<Spin>(fds[0], v)) break;
        }
      },
      kPings);
  ::close(fds[0]);
  ::close(fds[1]);
}

}  // namespace

BENCHMARK(queue_small_ints_mp)->Name("queue_small_ints/mp")->UseRealTime();
BENCHMARK(queue_small_ints_raw_ring)->Name("queue_small_ints/raw_shm_ring")->UseRealTime();
BENCHMARK(queue_64k_mp)->Name("queue_64k_messages/mp")->UseRealTime();
BENCHMARK(queue_64k_raw_ring)->Name("queue_64k_messages/raw_shm_ring")->UseRealTime();
BENCHMARK(queue_100mb_mp)->Name("queue_100mb_message/mp")->UseRealTime()->Iterations(3);
BENCHMARK(queue_100mb_raw_memcpy)
    ->Name("queue_100mb_message/raw_memcpy_fresh_pages")
    ->UseRealTime();
BENCHMARK(pipe_roundtrip_mp)->Name("pipe_roundtrip/mp")->UseRealTime();
BENCHMARK(pipe_roundtrip_raw_socketpair<false>)
    ->Name("pipe_roundtrip/raw_socketpair_sleep")
    ->UseRealTime();
BENCHMARK(pipe_roundtrip_raw_socketpair<true>)
    ->Name("pipe_roundtrip/raw_socketpair_spin")
    ->UseRealTime();
