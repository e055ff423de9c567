// mpi/mpi.cpp — mp::mpi: rank 0's communication thread, and the loop every other rank serves.
//
//   rank 0: PoolExecutor ─submit→ queue ─→ comm thread ─Isend [task...]─→ rank r: runs each task
//           futures ←done── comm thread ←─Improbe/Mrecv [result...]──────┘  (in the order sent)
//
// Messages carry batches: the comm thread sends a rank whatever is queued, up to the rank's free
// window, in one message; the rank answers in one message per batch (sooner if a batch runs
// long). A rank runs its tasks in order and MPI does not reorder one sender's messages, so the
// results of a rank come back in the order its tasks went: a deque per rank matches them.
//
// Loss: Open MPI 4.1 has no ULFM. Under `mpirun --enable-recovery` the job outlives a rank, but a
// send to the dead rank still "succeeds" (or never completes) and no call reports the death. So
// every serving rank sends a heartbeat from a thread of its own; a rank not heard from for
// MP_MPI_RANK_TIMEOUT seconds (default 3) is lost: its tasks fail with WorkerCrashed, and no task
// goes to it again.
#include <mpi.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "mp/detail/code_ref.hpp"
#include "mp/errors.hpp"
#include "mp/mpi.hpp"
#include "runtime/exception_info.hpp"
#include "runtime/outcome.hpp"

namespace mp::mpi {
namespace {

using Clock = std::chrono::steady_clock;
using mp::detail::CodeRef;
using mp::detail::Invoker;

constexpr int kTaskTag = 1;       // rank 0 -> r: [id, build, offset, size, payload]...
constexpr int kResultTag = 2;     // r -> rank 0: busy ns, then [id, size, outcome]...
constexpr int kStopTag = 3;       // rank 0 -> r: serve no more
constexpr int kHeartbeatTag = 4;  // r -> rank 0: alive
// A rank is handed about kQueuedWork of tasks at a time, as its recent tasks took: enough that it
// never waits on rank 0 (whose threads may wait a time slice for a core), few enough that long
// tasks spread over the ranks. Between 2 (one running, one ready) and kRankWindow tasks.
constexpr std::size_t kRankWindow = 1024;
constexpr double kQueuedWork = 5e6;  // ns
constexpr auto kHeartbeat = std::chrono::milliseconds(100);
// MPI counts bytes in an int: a message holds 2 GiB at most. Batches stop at 1 GiB; one task or
// result alone may not pass 2 GiB (it fails with ValueError).
constexpr std::size_t kMaxBatch = std::size_t{1} << 30;
constexpr std::size_t kMaxRecord = std::size_t{2047} << 20;
constexpr auto kFlushAfter = std::chrono::microseconds(200);  // a long batch answers in parts

void check(int rc, const char* call) {
  if (rc != MPI_SUCCESS) {
    char text[MPI_MAX_ERROR_STRING];
    int n = 0;
    MPI_Error_string(rc, text, &n);
    throw ProcessError(std::string("mp::mpi: ") + call + " failed: " + std::string(text, n));
  }
}

void put(std::vector<std::byte>& out, std::uint64_t v) {
  const auto at = out.size();
  out.resize(at + sizeof v);
  std::memcpy(out.data() + at, &v, sizeof v);
}

// Reads the records of a message; throws ProtocolError on a short one.
struct Reader {
  std::span<const std::byte> bytes;
  bool empty() const { return bytes.empty(); }
  std::uint64_t u64() {
    if (bytes.size() < 8) throw ProtocolError("mp::mpi: truncated message");
    std::uint64_t v;
    std::memcpy(&v, bytes.data(), 8);
    bytes = bytes.subspan(8);
    return v;
  }
  std::span<const std::byte> take(std::uint64_t n) {
    if (bytes.size() < n) throw ProtocolError("mp::mpi: truncated message");
    auto out = bytes.first(n);
    bytes = bytes.subspan(n);
    return out;
  }
};

// Waits between polls: spins briefly (a reply is often microseconds away), then yields (on an
// idle machine as quick as spinning; on a busy one it lets a woken thread run), then sleeps ever
// longer (an idle rank must not hold a core that others need).
class Backoff {
 public:
  void reset() { idle_ = false; }
  void pause() {
    const auto now = Clock::now();
    if (!idle_) {
      idle_ = true;
      since_ = now;
    }
    const auto idle = now - since_;
    if (idle < std::chrono::microseconds(5)) return;
    if (idle < std::chrono::milliseconds(1)) {
      sched_yield();
      return;
    }
    std::this_thread::sleep_for(idle < std::chrono::milliseconds(20)
                                    ? std::chrono::microseconds(50)
                                    : std::chrono::microseconds(500));
  }
  // How long since the first pause() after a reset(); zero if none.
  Clock::duration idle() const { return idle_ ? Clock::now() - since_ : Clock::duration{}; }

 private:
  bool idle_ = false;
  Clock::time_point since_{};
};

struct Global {
  MPI_Comm comm = MPI_COMM_NULL;
  int rank = 0;
  int size = 1;
  pid_t pid = 0;
  bool finalized = false;
  std::vector<std::string> hosts;  // by rank (rank 0 only)
};
Global g;

// ---- serving ranks ------------------------------------------------------------------------------

[[noreturn]] void serve(const std::string& host) {
  std::atomic<bool> stop{false};
  std::mutex m;
  std::condition_variable cv;
  std::thread heartbeat([&] {
    std::unique_lock lock(m);
    while (!cv.wait_for(lock, kHeartbeat, [&] { return stop.load(); })) {
      MPI_Send(nullptr, 0, MPI_BYTE, 0, kHeartbeatTag, g.comm);
    }
  });

  const std::string where = " [on rank " + std::to_string(g.rank) + ", host " + host + "]";
  std::vector<std::byte> in, out, result;
  CodeRef ref{};
  Invoker invoker = nullptr;
  Backoff backoff;
  bool lost_peer = false;  // rank 0 lost a rank: MPI_Finalize could wait for it forever
  for (;;) {
    MPI_Message msg;
    MPI_Status st;
    int flag = 0;
    for (;;) {
      check(MPI_Improbe(0, MPI_ANY_TAG, g.comm, &flag, &msg, &st), "MPI_Improbe");
      if (flag) break;
      backoff.pause();
    }
    backoff.reset();
    int count = 0;
    MPI_Get_count(&st, MPI_BYTE, &count);
    in.resize(static_cast<std::size_t>(count));
    check(MPI_Mrecv(in.data(), count, MPI_BYTE, &msg, &st), "MPI_Mrecv");
    if (st.MPI_TAG == kStopTag) {
      lost_peer = !in.empty() && in[0] != std::byte{0};
      break;
    }

    Reader tasks{in};
    out.clear();
    put(out, 0);  // the time the tasks below took, in ns (filled in by send)
    auto started = Clock::now();
    auto send = [&] {
      const std::uint64_t ns = static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - started).count());
      std::memcpy(out.data(), &ns, 8);
      check(MPI_Send(out.data(), static_cast<int>(out.size()), MPI_BYTE, 0, kResultTag, g.comm),
            "MPI_Send");
      out.resize(8);
      started = Clock::now();
    };
    while (!tasks.empty()) {
      const std::uint64_t id = tasks.u64();
      CodeRef task_ref;
      task_ref.build = tasks.u64();
      task_ref.offset = tasks.u64();
      auto payload = tasks.take(tasks.u64());
      result.clear();
      std::optional<runtime::ExceptionInfo> error;
      try {
        if (invoker == nullptr || !(task_ref == ref)) {
          invoker = mp::detail::resolve_function<std::remove_pointer_t<Invoker>>(task_ref);
          ref = task_ref;
        }
        mp::detail::VectorResult into(result);
        invoker(payload, into);
      } catch (...) {
        error = runtime::describe_current_exception();
        error->what += where;
      }
      if (!error && result.size() > kMaxRecord) {
        const std::string what =
            "mp::mpi: the task's result is over 2 GiB encoded, more than an "
            "MPI message holds";
        error = runtime::ExceptionInfo{"mp::ValueError", what + where};
        result.clear();
      }
      const std::size_t record = 64 + result.size() + (error ? error->what.size() : 0);
      if (out.size() > 8 && out.size() + record > kMaxBatch) send();
      put(out, id);
      const auto size_at = out.size();
      put(out, 0);
      runtime::append_outcome(out, error ? &*error : nullptr, result);
      const std::uint64_t n = out.size() - size_at - 8;
      std::memcpy(out.data() + size_at, &n, 8);
      if (!tasks.empty() && Clock::now() - started > kFlushAfter) send();
    }
    if (out.size() > 8) send();
  }

  {
    std::lock_guard lock(m);
    stop = true;
  }
  cv.notify_all();
  heartbeat.join();
  if (lost_peer) {
    std::fflush(nullptr);
    _exit(0);
  }
  MPI_Comm_free(&g.comm);
  MPI_Finalize();
  std::exit(0);
}

// ---- rank 0 -------------------------------------------------------------------------------------

class Engine {
 public:
  Engine() {
    const char* t = std::getenv("MP_MPI_RANK_TIMEOUT");
    if (t != nullptr && std::atof(t) > 0) {
      timeout_ =
          std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(std::atof(t)));
    }
    const auto now = Clock::now();
    for (int r = 1; r < g.size; ++r) ranks_.push_back(Rank{r, {}, false, now});
    live_ = ranks_.size();
    update_capacity();
    // Started now, not at the first task: it also takes in the heartbeats of idle ranks.
    thread_ = std::thread([this] { run_or_abort(); });
  }

  std::size_t live() const { return live_.load(); }
  std::size_t capacity() const { return capacity_.load(std::memory_order_relaxed); }

  void submit(Invoker invoker, std::vector<std::byte> payload, mp::detail::TaskDone done) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) throw Error("mp::mpi: finalized: no rank serves tasks any more");
      queue_.push_back(Task{invoker, std::move(payload), std::move(done)});
      queued_.store(queue_.size(), std::memory_order_release);
      if (!sleeping_) return;
    }
    cv_.notify_one();
  }

  // Waits for the tasks in flight, then tells every live rank to stop; true if a rank was lost.
  bool stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
    const std::byte lost{live_ < ranks_.size() ? std::uint8_t{1} : std::uint8_t{0}};
    for (const auto& r : ranks_) {
      if (!r.lost) MPI_Send(&lost, 1, MPI_BYTE, r.rank, kStopTag, g.comm);
    }
    return lost != std::byte{0};
  }

 private:
  struct Task {
    Invoker invoker;
    std::vector<std::byte> payload;
    mp::detail::TaskDone done;
  };
  struct Sent {
    std::uint64_t id;
    mp::detail::TaskDone done;
  };
  struct Rank {
    int rank;
    std::deque<Sent> in_flight;
    bool lost;
    Clock::time_point heard;
    double ns_per_task = 0;  // recent average; 0: none run yet
    std::size_t window = 2;
  };
  struct Send {
    MPI_Request request;
    std::vector<std::byte> bytes;
    int rank;
  };

  // An MPI failure or a garbled message leaves futures that would never finish: end the job.
  void run_or_abort() {
    try {
      run();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s: aborting the MPI job\n", e.what());
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
  }

  void run() {
    Backoff backoff;
    for (;;) {
      bool progressed = intake();
      progressed |= dispatch();
      progressed |= receive();
      reap_sends();
      check_losses();
      if (progressed) {
        backoff.reset();
        continue;
      }
      const bool busy = !local_.empty() || std::any_of(ranks_.begin(), ranks_.end(), [](auto& r) {
        return !r.lost && !r.in_flight.empty();
      });
      // A program that waits for each result before its next submit comes back within
      // microseconds: poll a little longer before sleeping, so that the submit need not wake us.
      if (busy || backoff.idle() < std::chrono::microseconds(200)) {
        backoff.pause();
        continue;
      }
      // Idle: sleep until a submit, waking now and then to take in heartbeats.
      std::unique_lock lock(mutex_);
      if (!queue_.empty()) continue;
      if (stopping_) return;
      backoff.reset();
      sleeping_ = true;
      cv_.wait_for(lock, kHeartbeat, [&] { return !queue_.empty() || stopping_; });
      sleeping_ = false;
    }
  }

  bool intake() {
    if (queued_.load(std::memory_order_acquire) == 0) return false;
    std::lock_guard lock(mutex_);
    for (auto& t : queue_) local_.push_back(std::move(t));
    queue_.clear();
    queued_.store(0, std::memory_order_release);
    return true;
  }

  // Sends each live rank with room a batch: the queued tasks shared among those ranks.
  bool dispatch() {
    if (local_.empty()) return false;
    for (auto& t : local_) {
      if (live_ == 0) {
        auto done = std::move(t.done);
        done({}, std::make_exception_ptr(BrokenProcessPool(
                     "mp::mpi: every serving rank has been lost: no rank can run the task")));
      }
    }
    if (live_ == 0) {
      local_.clear();
      return true;
    }
    std::vector<Rank*> open;
    for (auto& r : ranks_) {
      if (!r.lost && r.in_flight.size() < r.window) open.push_back(&r);
    }
    if (open.empty()) return false;
    // The least loaded first; among equals the lowest rank, so that a trickle of single tasks
    // keeps going to the same rank and the others can fall asleep (and leave their cores).
    std::stable_sort(open.begin(), open.end(),
                     [](Rank* a, Rank* b) { return a->in_flight.size() < b->in_flight.size(); });
    bool sent = false;
    for (std::size_t i = 0; i < open.size() && !local_.empty(); ++i) {
      Rank& r = *open[i];
      const std::size_t share = (local_.size() + (open.size() - i) - 1) / (open.size() - i);
      const std::size_t n = std::min(share, r.window - r.in_flight.size());
      Send s{MPI_REQUEST_NULL, take_buffer(), r.rank};
      std::size_t bytes = 0;
      for (std::size_t k = 0; k < n; ++k) bytes += 32 + local_[k].payload.size();  // an upper bound
      s.bytes.reserve(std::min(bytes, kMaxBatch));
      for (std::size_t k = 0; k < n; ++k) {
        Task& t = local_.front();
        // The payload's front is the local pool's header space (mp/detail/task.hpp): not sent.
        const auto call =
            std::span<const std::byte>(t.payload).subspan(mp::detail::kTaskHeaderSpace);
        if (call.size() > kMaxRecord) {
          auto done = std::move(t.done);
          local_.pop_front();
          done({}, std::make_exception_ptr(ValueError(
                       "mp::mpi: the task is over 2 GiB encoded, more than an MPI message holds")));
          continue;
        }
        if (!s.bytes.empty() && s.bytes.size() + 32 + call.size() > kMaxBatch) break;
        if (t.invoker != last_invoker_) {
          last_ref_ = mp::detail::code_ref_of(t.invoker);
          last_invoker_ = t.invoker;
        }
        const std::uint64_t id = next_id_++;
        put(s.bytes, id);
        put(s.bytes, last_ref_.build);
        put(s.bytes, last_ref_.offset);
        put(s.bytes, call.size());
        s.bytes.insert(s.bytes.end(), call.begin(), call.end());
        r.in_flight.push_back(Sent{id, std::move(t.done)});
        local_.pop_front();
      }
      if (s.bytes.empty()) continue;  // every task of it refused
      check(MPI_Isend(s.bytes.data(), static_cast<int>(s.bytes.size()), MPI_BYTE, r.rank, kTaskTag,
                      g.comm, &s.request),
            "MPI_Isend");
      sends_.push_back(std::move(s));
      sent = true;
    }
    return sent;
  }

  bool receive() {
    bool any = false;
    for (;;) {
      MPI_Message msg;
      MPI_Status st;
      int flag = 0;
      check(MPI_Improbe(MPI_ANY_SOURCE, MPI_ANY_TAG, g.comm, &flag, &msg, &st), "MPI_Improbe");
      if (!flag) return any;
      int count = 0;
      MPI_Get_count(&st, MPI_BYTE, &count);
      buffer_.resize(static_cast<std::size_t>(count));
      check(MPI_Mrecv(buffer_.data(), count, MPI_BYTE, &msg, &st), "MPI_Mrecv");
      Rank& r = ranks_[static_cast<std::size_t>(st.MPI_SOURCE - 1)];
      if (r.lost) continue;  // declared lost, then heard from: its tasks have already failed
      r.heard = Clock::now();
      if (st.MPI_TAG != kResultTag) continue;
      any = true;
      Reader results{buffer_};
      const double busy_ns = static_cast<double>(results.u64());
      std::size_t answered = 0;
      while (!results.empty()) {
        ++answered;
        const std::uint64_t id = results.u64();
        auto bytes = results.take(results.u64());
        if (r.in_flight.empty() || r.in_flight.front().id != id) {
          throw ProtocolError("mp::mpi: rank " + std::to_string(r.rank) +
                              " answered a task it was not sent");
        }
        auto done = std::move(r.in_flight.front().done);
        r.in_flight.pop_front();
        std::span<const std::byte> value;
        std::exception_ptr error;
        try {
          auto outcome = runtime::read_outcome(bytes);
          value = outcome.result;
          error = outcome.error;
        } catch (...) {
          error = std::current_exception();
        }
        done(value, error);
      }
      if (answered > 0) {
        const double sample = busy_ns / static_cast<double>(answered);
        r.ns_per_task = r.ns_per_task == 0 ? sample : 0.7 * r.ns_per_task + 0.3 * sample;
        r.window = static_cast<std::size_t>(std::clamp(kQueuedWork / std::max(r.ns_per_task, 1.0),
                                                       2.0, static_cast<double>(kRankWindow)));
        update_capacity();
      }
    }
  }

  void update_capacity() {
    std::size_t total = 0;
    for (const auto& r : ranks_) total += r.lost ? 0 : r.window;
    capacity_.store(total, std::memory_order_relaxed);
  }

  // Batch buffers are kept for the next batches: allocating tens of KiB each time made glibc
  // consolidate its free lists of small blocks (the futures' and tasks') every time, a tenth
  // of rank 0's time in a chunksize-1 map.
  std::vector<std::byte> take_buffer() {
    if (spare_.empty()) return {};
    auto b = std::move(spare_.back());
    spare_.pop_back();
    return b;
  }

  void reap_sends() {
    for (std::size_t i = 0; i < sends_.size();) {
      int flag = 0;
      check(MPI_Test(&sends_[i].request, &flag, MPI_STATUS_IGNORE), "MPI_Test");
      if (flag) {
        sends_[i].bytes.clear();
        spare_.push_back(std::move(sends_[i].bytes));
        sends_[i] = std::move(sends_.back());
        sends_.pop_back();
      } else {
        ++i;
      }
    }
  }

  void check_losses() {
    const auto now = Clock::now();
    if (now - last_check_ < std::chrono::milliseconds(50)) return;
    last_check_ = now;
    for (auto& r : ranks_) {
      if (r.lost || now - r.heard < timeout_) continue;
      r.lost = true;
      --live_;
      update_capacity();
      const std::string what =
          "mp::mpi: rank " + std::to_string(r.rank) + " on host " + g.hosts[r.rank] +
          " was lost (no heartbeat for " +
          std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(timeout_).count()) +
          " ms): its task did not finish";
      auto tasks = std::move(r.in_flight);
      r.in_flight.clear();
      for (auto& t : tasks) t.done({}, std::make_exception_ptr(WorkerCrashed(-1, -1, what)));
      // A send to the lost rank may never complete: let MPI drop the request, and keep its bytes.
      for (std::size_t i = 0; i < sends_.size();) {
        if (sends_[i].rank != r.rank) {
          ++i;
          continue;
        }
        MPI_Request_free(&sends_[i].request);
        orphans_.push_back(std::move(sends_[i].bytes));
        sends_[i] = std::move(sends_.back());
        sends_.pop_back();
      }
    }
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Task> queue_;
  std::atomic<std::size_t> queued_{0};
  bool sleeping_ = false;
  bool stopping_ = false;
  std::thread thread_;
  std::atomic<std::size_t> live_{0};
  std::atomic<std::size_t> capacity_{0};  // the ranks' windows together

  // The comm thread's own.
  std::deque<Task> local_;
  std::vector<Rank> ranks_;
  std::vector<Send> sends_;
  std::vector<std::vector<std::byte>> orphans_;
  std::vector<std::vector<std::byte>> spare_;  // batch buffers, cleared, for reuse
  std::vector<std::byte> buffer_;
  std::uint64_t next_id_ = 1;
  Invoker last_invoker_ = nullptr;
  CodeRef last_ref_{};
  Clock::duration timeout_ = std::chrono::seconds(3);
  Clock::time_point last_check_{};
};

Engine* engine = nullptr;

void finalize_at_exit() {
  if (getpid() == g.pid) finalize();  // not in a forked child
}

}  // namespace

void init(int& argc, char**& argv) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) throw ProcessError("mp::mpi::init: MPI is already initialized");
  int provided = 0;
  check(MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided), "MPI_Init_thread");
  if (provided < MPI_THREAD_MULTIPLE) {
    MPI_Finalize();
    throw ProcessError(
        "mp::mpi::init: this MPI does not support MPI_THREAD_MULTIPLE (each rank runs a "
        "heartbeat thread beside its work)");
  }
  MPI_Comm_dup(MPI_COMM_WORLD, &g.comm);
  MPI_Comm_rank(g.comm, &g.rank);
  MPI_Comm_size(g.comm, &g.size);
  g.pid = getpid();

  char name[MPI_MAX_PROCESSOR_NAME] = {};
  int len = 0;
  MPI_Get_processor_name(name, &len);
  std::vector<char> all(g.rank == 0 ? static_cast<std::size_t>(g.size) * MPI_MAX_PROCESSOR_NAME
                                    : 0);
  MPI_Gather(name, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, all.data(), MPI_MAX_PROCESSOR_NAME, MPI_CHAR,
             0, g.comm);
  if (g.rank != 0) serve(std::string(name, static_cast<std::size_t>(len)));

  for (int r = 0; r < g.size; ++r) g.hosts.emplace_back(all.data() + r * MPI_MAX_PROCESSOR_NAME);
  engine = new Engine();
  std::atexit(finalize_at_exit);
}

void finalize() {
  if (engine == nullptr || g.finalized) return;
  g.finalized = true;
  // Open MPI 4.1's MPI_Finalize ends with a fence over every rank, which may wait forever for a
  // rank that died under --enable-recovery: after a loss, the survivors exit without it (mpirun
  // accepts that in recovery mode).
  if (engine->stop()) return;
  MPI_Comm_free(&g.comm);
  MPI_Finalize();
}

int rank() {
  return g.rank;
}
int size() {
  return g.size;
}
std::size_t workers() {
  return engine == nullptr || g.finalized ? 0 : engine->live();
}

namespace detail {
std::size_t capacity() {
  return engine == nullptr || g.finalized ? 0 : engine->capacity();
}
}  // namespace detail

namespace detail {
void submit(Invoker invoker, std::vector<std::byte> payload, mp::detail::TaskDone done) {
  if (engine == nullptr) throw Error("mp::mpi: call mp::mpi::init(argc, argv) first");
  engine->submit(invoker, std::move(payload), std::move(done));
}
}  // namespace detail

PoolExecutor::PoolExecutor(const Options& options) {
  if (workers() == 0) {
    throw ValueError(
        "mp::mpi::PoolExecutor: no rank serves tasks (call mp::mpi::init first, and run under "
        "mpirun -n N with N >= 2)");
  }
  const std::size_t fixed = workers() * options.tasks_per_rank;
  feed_ = std::make_shared<mp::detail::TaskFeed>(mp::detail::TaskSink{
      // No rank left (all lost, or finalize() called): a pending task would wait forever.
      [fixed]() -> std::size_t {
        if (workers() == 0) return 0;
        return fixed != 0 ? fixed : std::max<std::size_t>(1, detail::capacity());
      },
      detail::submit,
      [] {
        return std::make_exception_ptr(BrokenProcessPool(
            "mp::mpi: no rank serves tasks any more (every serving rank was lost, or "
            "mp::mpi::finalize() was called)"));
      }});
}

}  // namespace mp::mpi
