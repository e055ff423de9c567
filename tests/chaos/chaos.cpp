#include "chaos/chaos.hpp"

#include <sched.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <system_error>

namespace mp::chaos {

namespace {

std::uint64_t env_u64(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  return std::strtoull(v, nullptr, 0);
}

std::uint64_t mix(std::uint64_t x) noexcept {  // splitmix64's finalizer
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

std::uint64_t hash(const std::string& s) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

std::map<std::string, Row>& table() {
  static std::map<std::string, Row> t;
  return t;
}

}  // namespace

bool sanitized() noexcept {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
  return true;
#else
  return false;
#endif
#else
  return false;
#endif
}

std::uint64_t seed() {
  static const std::uint64_t s = [] {
    const std::uint64_t fallback =
        static_cast<std::uint64_t>(Clock::now().time_since_epoch().count()) % 1000000007ull;
    const std::uint64_t v = env_u64("MP_CHAOS_SEED", fallback);
    std::printf("[chaos] MP_CHAOS_SEED=%llu MP_CHAOS_ITERATIONS=%d%s\n",
                static_cast<unsigned long long>(v), iterations(),
                sanitized() ? " (sanitizer build: fewer iterations by default)" : "");
    std::fflush(stdout);
    return v;
  }();
  return s;
}

int iterations() {
  static const int n = [] {
    const std::uint64_t fallback = sanitized() ? 3 : 12;
    return static_cast<int>(
        std::clamp<std::uint64_t>(env_u64("MP_CHAOS_ITERATIONS", fallback), 1, 1000000));
  }();
  return n;
}

std::chrono::milliseconds child_timeout() {
  return sanitized() ? 60s : 30s;
}

void* map_shared(std::size_t bytes) {
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "mmap");
  return p;  // zero-filled
}

void unmap_shared(void* p, std::size_t bytes) noexcept {
  ::munmap(p, bytes);
}

void ChildErrors::report(const std::string& what) noexcept {
  count.fetch_add(1, std::memory_order_seq_cst);
  if (text_taken.exchange(1) == 0) {
    const std::size_t n = std::min(what.size(), sizeof text - 1);
    std::memcpy(text, what.data(), n);
    text[n] = '\0';
  }
}

std::string ChildErrors::first() const {
  if (count.load() == 0) return "";
  return std::to_string(count.load()) + " error(s) in children, first: " + std::string(text);
}

Rng::Rng(const std::string& test, int iteration)
    : engine_(mix(mix(seed() ^ hash(test)) + static_cast<std::uint64_t>(iteration))) {}

Row& row(const std::string& operation) {
  return table()[operation];
}

void print_table() {
  if (table().empty()) return;
  Row total;
  std::printf("\n[chaos] seed %llu, %d iteration(s) per test\n",
              static_cast<unsigned long long>(seed()), iterations());
  std::printf("%-42s %10s %8s %10s %9s\n", "operation", "iterations", "kills", "checks",
              "failures");
  for (const auto& [op, r] : table()) {
    std::printf("%-42s %10llu %8llu %10llu %9llu\n", op.c_str(),
                static_cast<unsigned long long>(r.iterations),
                static_cast<unsigned long long>(r.kills), static_cast<unsigned long long>(r.checks),
                static_cast<unsigned long long>(r.failures));
    total.iterations += r.iterations;
    total.kills += r.kills;
    total.checks += r.checks;
    total.failures += r.failures;
  }
  std::printf("%-42s %10llu %8llu %10llu %9llu\n", "total",
              static_cast<unsigned long long>(total.iterations),
              static_cast<unsigned long long>(total.kills),
              static_cast<unsigned long long>(total.checks),
              static_cast<unsigned long long>(total.failures));
  std::fflush(stdout);
  if (const char* file = std::getenv("MP_CHAOS_REPORT"); file != nullptr && *file != '\0') {
    std::ofstream out(file, std::ios::app);
    for (const auto& [op, r] : table()) {
      out << op << '\t' << r.iterations << '\t' << r.kills << '\t' << r.checks << '\t' << r.failures
          << '\n';
    }
  }
}

Iteration::Iteration(std::string operation, int index) : op_(std::move(operation)), index_(index) {
  ++row(op_).iterations;
}

bool Iteration::check(bool ok, const std::string& what) {
  Row& r = row(op_);
  ++r.checks;
  if (ok) return true;
  ++r.failures;
  ADD_FAILURE() << "[chaos] " << op_ << ": " << what << "\n  context: " << notes_
                << "\n  reproduce: MP_CHAOS_SEED=" << seed()
                << " MP_CHAOS_ITERATIONS=" << (index_ + 1) << " chaos_test --gtest_filter='"
                << ::testing::UnitTest::GetInstance()->current_test_info()->test_suite_name() << "."
                << ::testing::UnitTest::GetInstance()->current_test_info()->name()
                << "' (iteration " << index_ << ")";
  return false;
}

bool join_bounded(mp::Process& p, std::chrono::milliseconds timeout) {
  if (p.join(timeout)) return true;
  p.kill();
  p.join(10s);
  return false;
}

void spin_for_us(unsigned us) noexcept {
  const auto end = Clock::now() + std::chrono::microseconds(us);
  while (Clock::now() < end) {
  }
}

bool process_running(mp::Process& p) {
  return p.is_alive();
}

void yield_now() noexcept {
  ::sched_yield();
}

std::string payload_for(std::uint64_t id, std::size_t size) {
  std::string out(size, '\0');
  std::uint64_t x = mix(id);
  for (std::size_t i = 0; i < size; ++i) {
    if (i % 8 == 0) x = mix(x + i);
    out[i] = static_cast<char>(x >> (8 * (i % 8)));
  }
  return out;
}

std::uint64_t checksum(std::uint64_t id, const std::string& payload) noexcept {
  return mix(hash(payload) ^ mix(id));
}

namespace {

// Prints the table once all tests ran (one process: the whole table; under ctest, each test's).
class TableEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { seed(); }
  void TearDown() override { print_table(); }
};

[[maybe_unused]] ::testing::Environment* const kEnvironment =
    ::testing::AddGlobalTestEnvironment(new TableEnvironment);

}  // namespace

}  // namespace mp::chaos
