// bench/channels_benchmark.cpp — Queue and Pipe between two processes; twin: channels_bench.py.
// Time per message; `ops` counts messages per iteration.
#include <benchmark/benchmark.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "mp/connection.hpp"
#include "mp/queues.hpp"
#include "support/paired.hpp"
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
    get_with([out](const char* slot) { std::memcpy(out, slot, Slot); });
  }
  // `read(slot)` copies the next message out of its slot, then the slot is given back.
  template <class Read>
  void get_with(Read&& read) {
    std::uint32_t h = head.load(std::memory_order_relaxed);
    while (tail.load(std::memory_order_seq_cst) == h) wait(tail, h, consumer_waiting);
    read(slots[h % Slots]);
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

// As queue_64k_raw_ring, but each message is copied out into a new std::string, as mp's get()
// returns one: the same work as the mp row on the receiving side (an allocation per message).
void queue_64k_raw_ring_new_string(benchmark::State& state) {
  auto* ring = mp::bench::shared_object<RawRing<64 << 10, 64>>();
  mp::bench::Peer peer([ring] {
    std::vector<char> msg(64 << 10, 'x');
    for (int i = 0; i < k64K; ++i) ring->put(msg.data());
  });
  peer.run(
      state,
      [&] {
        for (int i = 0; i < k64K; ++i) {
          ring->get_with([](const char* slot) {
            std::string out(slot, 64 << 10);
            benchmark::DoNotOptimize(out);
          });
        }
      },
      k64K);
}

// The mp row and the raw_shm_ring_new_string row in alternation, with one peer that produces for
// either (support/paired.hpp): the ratio of the two, without the minute-to-minute drift.
void queue_64k_paired(benchmark::State& state) {
  mp::Queue<std::string> q;
  auto* ring = mp::bench::shared_object<RawRing<64 << 10, 64>>();
  auto* use_ring = mp::bench::shared_object<std::atomic<bool>>();
  mp::bench::Peer peer([q, ring, use_ring]() mutable {
    std::string msg(64 << 10, 'x');
    if (use_ring->load(std::memory_order_relaxed)) {
      for (int i = 0; i < k64K; ++i) ring->put(msg.data());
    } else {
      for (int i = 0; i < k64K; ++i) q.put(msg);
    }
  });
  auto round = [&](bool through_ring, auto&& mine) {
    use_ring->store(through_ring, std::memory_order_relaxed);  // published by start_round
    peer.start_round();
    mine();
    peer.wait_round();
  };
  mp::bench::run_paired(
      state,
      [&] {
        round(false, [&] {
          for (int i = 0; i < k64K; ++i) benchmark::DoNotOptimize(q.get());
        });
      },
      [&] {
        round(true, [&] {
          for (int i = 0; i < k64K; ++i) {
            ring->get_with([](const char* slot) {
              std::string out(slot, 64 << 10);
              benchmark::DoNotOptimize(out);
            });
          }
        });
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

// --- one 100 MB message between two fresh processes: its time and each side's peak memory ---

// This process's resident set and its peak (VmRSS, VmHWM: shared pages included, so a memfd
// body mapped on both sides counts on both), in bytes.
struct Resident {
  double now = 0, peak = 0;
};
Resident resident() {
  Resident r;
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return r;
  char line[256];
  while (std::fgets(line, sizeof line, f) != nullptr) {
    double kb = 0;
    if (std::sscanf(line, "VmRSS: %lf kB", &kb) == 1) r.now = kb * 1024;
    if (std::sscanf(line, "VmHWM: %lf kB", &kb) == 1) r.peak = kb * 1024;
  }
  std::fclose(f);
  return r;
}
// Lowers the peak to the present resident set (Linux 4.0 and later), so that what a forked child
// inherited from the benchmark process does not count. False where that is refused.
bool reset_peak() {
  std::FILE* f = std::fopen("/proc/self/clear_refs", "w");
  if (f == nullptr) return false;
  const bool ok = std::fputs("5", f) >= 0;
  return std::fclose(f) == 0 && ok;
}
double now_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct OneMessage {
  std::atomic<int> ready{0};  // the receiver has taken its baseline
  double put_at = 0, got_at = 0;
  double sender_rise = -1, receiver_rise = -1;  // bytes above each side's baseline
  bool intact = false;
};

constexpr std::size_t kBigDoubles = 12'500'000;  // 100 MB

// Each iteration forks a sender and a receiver that meet only through the channel. The sender's
// baseline is taken once its std::vector<double> exists (it holds the message by construction);
// the receiver's before the message exists at all. What each reports is its peak above that:
// everything the channel needed, the receiver's decoded vector included. Time: from the put's
// start to the get's end.
template <class Send, class Recv>
void one_big_message(benchmark::State& state, Send send, Recv recv) {
  auto* shared = mp::bench::shared_object<OneMessage>();
  double sender = 0, receiver = 0;
  for (auto _ : state) {
    new (shared) OneMessage();
    const pid_t rx = ::fork();
    if (rx == 0) {
      reset_peak();
      const double base = resident().now;
      shared->ready.store(1, std::memory_order_release);
      std::vector<double> v = recv();
      shared->got_at = now_seconds();
      shared->receiver_rise = resident().peak - base;
      shared->intact = v.size() == kBigDoubles && v[kBigDoubles / 2] == 0.5 * kBigDoubles;
      ::_exit(0);
    }
    const pid_t tx = ::fork();
    if (tx == 0) {
      std::vector<double> v(kBigDoubles);
      for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i);
      while (shared->ready.load(std::memory_order_acquire) == 0) ::sched_yield();
      reset_peak();
      const double base = resident().now;
      shared->put_at = now_seconds();
      send(v);
      shared->sender_rise = resident().peak - base;
      ::_exit(0);
    }
    ::waitpid(tx, nullptr, 0);
    ::waitpid(rx, nullptr, 0);
    if (!shared->intact) state.SkipWithError("the message did not arrive intact");
    state.SetIterationTime(shared->got_at - shared->put_at);
    sender = std::max(sender, shared->sender_rise);
    receiver = std::max(receiver, shared->receiver_rise);
  }
  constexpr double kBytes = kBigDoubles * sizeof(double);
  state.counters["sender_peak_x"] = sender / kBytes;  // the worst iteration's
  state.counters["receiver_peak_x"] = receiver / kBytes;
  ::munmap(shared, sizeof(OneMessage));
}

void queue_100mb_fresh_mp(benchmark::State& state) {
  mp::Queue<std::vector<double>> q;
  one_big_message(
      state, [&](const std::vector<double>& v) { q.put(v); }, [&] { return q.get(); });
}

void pipe_100mb_fresh_mp(benchmark::State& state) {
  auto [a, b] = mp::Pipe();
  one_big_message(
      state, [&](const std::vector<double>& v) { b.send(v); },
      [&] { return a.recv<std::vector<double>>(); });
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
BENCHMARK(queue_64k_raw_ring_new_string)
    ->Name("queue_64k_messages/raw_shm_ring_new_string")
    ->UseRealTime();
BENCHMARK(queue_64k_paired)
    ->Name("queue_64k_messages_paired/raw_shm_ring_new_string")
    ->UseManualTime();
BENCHMARK(queue_100mb_mp)->Name("queue_100mb_message/mp")->UseRealTime()->Iterations(3);
BENCHMARK(queue_100mb_raw_memcpy)
    ->Name("queue_100mb_message/raw_memcpy_fresh_pages")
    ->UseRealTime();
BENCHMARK(queue_100mb_fresh_mp)
    ->Name("queue_100mb_fresh_processes/mp")
    ->UseManualTime()
    ->Iterations(5);
BENCHMARK(pipe_100mb_fresh_mp)
    ->Name("pipe_100mb_fresh_processes/mp")
    ->UseManualTime()
    ->Iterations(5);
BENCHMARK(pipe_roundtrip_mp)->Name("pipe_roundtrip/mp")->UseRealTime();
BENCHMARK(pipe_roundtrip_raw_socketpair<false>)
    ->Name("pipe_roundtrip/raw_socketpair_sleep")
    ->UseRealTime();
BENCHMARK(pipe_roundtrip_raw_socketpair<true>)
    ->Name("pipe_roundtrip/raw_socketpair_spin")
    ->UseRealTime();
