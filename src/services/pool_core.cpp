// services/pool_core.cpp — the pool's side: workers, the task and result queues, and the pool's
// thread. What a worker does with a task: services/pool_worker.cpp.
//
//   submit: [id|invoker|payload] → task queue ──→ a worker: runs invoker(payload)
//                                                   │
//   pool thread: result queue ←── [id|outcome] (runtime/outcome.hpp)
//     matches the id to its caller's Done; notices dead workers, fails the task each was
//     running (WorkerCrashed) and starts a replacement.
//
// Who reads the result queue: the pool's thread, unless a thread waiting for a result reads it
// (one wake-up fewer per round trip). Then the pool's thread parks, and only looks after the
// workers; it also parks while no task is pending. Results whose Done must run on the pool's
// thread (Delivery::pool_thread) are handed to it by the reader. That handshake:
// services/result_reading.hpp.
//
// Each worker notes the id of the task it takes in a shared slot while it still holds the task
// queue's get lock (the queue's sink runs under it): a worker killed before that leaves the task
// in the queue for another worker; one killed after it is known to have been running it. (Killed
// in the instant between the note and the queue's release, the task is both reported crashed
// and run again by the next worker, whose result is then ignored.)
#include "mp/detail/pool_core.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>

#include "mp/codec.hpp"
#include "mp/detail/queue_core.hpp"
#include "mp/errors.hpp"
#include "mp/process.hpp"
#include "runtime/fork_server.hpp"
#include "runtime/log.hpp"
#include "runtime/outcome.hpp"
#include "runtime/process_state.hpp"
#include "services/pool_worker.hpp"
#include "services/result_reading.hpp"

namespace mp::detail {

namespace {

// How often a busy pool thread looks for dead workers and overdue tasks: each look costs a
// system call per worker, too many to pay per result at a million results a second.
constexpr auto kCheckEvery = std::chrono::milliseconds(5);

thread_local bool g_result_in_body = false;  // see PoolCore::result_in_body

std::string describe_exit(int pid, int code) {
  std::string how =
      code < 0 ? "killed by signal " + std::to_string(-code) : "exit code " + std::to_string(code);
  return "a pool worker (pid " + std::to_string(pid) + ") died while running this task (" + how +
         ")";
}

}  // namespace

struct PoolCore::State {
  PoolOptions options;
  std::size_t processes = 0;
  QueueCore tasks{fnv1a("mp.pool.task"), 0, {}};
  QueueCore results{fnv1a("mp.pool.result"), 0, {}};
  RawArray<std::uint64_t> running;  // per worker: the id of the task it runs, 0 when idle
  std::vector<Process> workers;     // touched by the pool thread while it runs, else by callers

  struct Pending {
    Done done;
    bool any_thread = false;  // see Delivery
  };

  std::mutex mutex;  // guards what follows, and `reading`'s handshake
  std::condition_variable idle;
  std::unordered_map<std::uint64_t, Pending> pending;
  // Dones running off the pool's thread (a reader's), their tasks no longer pending: join()
  // waits for them too (the pool thread's own end when it stops).
  std::size_t delivering = 0;
  std::uint64_t next_id = 0;
  bool closed = false;
  bool finished = false;  // joined or terminated
  bool ended = false;     // and that join's or terminate's teardown is over (see `idle`)
  std::string broken;     // why, once a worker's initializer failed

  // The pool thread's own: per worker, the task it was last seen running, and since when.
  std::vector<std::pair<std::uint64_t, std::chrono::steady_clock::time_point>> seen;

  // Who reads `results`: the pool's thread, or a caller waiting for a result.
  ResultReading reading{results, mutex, &State::handle, &State::handle_body, this};
  std::thread thread;

  StartMethod method;
  std::shared_ptr<ForkServer> zygote;  // fork pools: where replacement workers are forked from

  explicit State(std::size_t n, const PoolOptions& o)
      : options(o),
        processes(n),
        running(n),
        method(o.context ? o.context->get_start_method() : get_start_method()) {}

  // A copy of this process: the worker serves straight from the copied state.
  Process fork_worker(std::size_t index) {
    Process p([this, index] {
      serve_tasks(tasks, results, running, index, options.initializer.invoker(),
                  options.initializer.payload(), options.maxtasksperchild);
    });
    get_context(StartMethod::fork).bind(p);
    return p;
  }

  // Not a copy of this process (spawn, forkserver, a fork pool's zygote): the worker gets
  // handles to the queues.
  Process exec_worker(std::size_t index) {
    WorkerSpec spec{tasks, results, running, index, options.maxtasksperchild, std::nullopt, {}};
    if (options.initializer) {
      spec.initializer = code_ref_of(options.initializer.invoker());
      spec.init_args = options.initializer.payload();
    }
    if (method != StartMethod::fork)
      return get_context(method).Process(worker_main, std::move(spec));
    Process p = get_context(StartMethod::forkserver).Process(worker_main, std::move(spec));
    // Without its zygote (killed from outside), a fork pool's replacements come from the
    // forkserver: as safe, though they do not see the program's state as it was at fork.
    if (zygote && zygote->usable()) ProcessAccess::state(p).server = zygote;
    return p;
  }

  void stop_zygote() noexcept {
    if (zygote) zygote->stop();
  }

  // From the pool's thread a fork pool starts workers through its zygote: forking this process
  // while the caller's threads run could copy a lock one of them holds.
  Process start_worker(std::size_t index, bool from_pool_thread) {
    Process p =
        method == StartMethod::fork && !from_pool_thread ? fork_worker(index) : exec_worker(index);
    // Python's names: ForkPoolWorker-1, SpawnPoolWorker-2, ForkServerPoolWorker-3.
    const char* kind = method == StartMethod::spawn        ? "Spawn"
                       : method == StartMethod::forkserver ? "ForkServer"
                                                           : "Fork";
    p.set_name(std::string(kind) + "PoolWorker-" + std::to_string(index + 1));
    p.set_daemon(true);
    p.start();
    runtime::log(LogLevel::debug, "added worker");
    return p;
  }

  // A task's header: its id, `done` now pending under it. Throws once the pool cannot take tasks.
  TaskHeader open_task(Invoker invoker, Done done, Delivery delivery) {
    std::uint64_t id;
    {
      std::lock_guard lock(mutex);
      if (!broken.empty()) throw BrokenProcessPool(broken);
      if (closed) throw ValueError("Pool not running");
      id = ++next_id;
      pending.emplace(id, Pending{std::move(done), delivery != Delivery::pool_thread});
      reading.set_awaited(pending.size());
      // A pool's thread (a callback's apply) never reads another pool's results: woken for it.
      reading.task_queued(delivery == Delivery::caller_waits && !ResultReading::on_pool_thread());
    }
    // Most submissions repeat the last invoker: name it once per run of them.
    thread_local Invoker last = nullptr;
    thread_local CodeRef last_ref;
    if (invoker != last) {
      last_ref = code_ref_of(invoker);
      last = invoker;
    }
    return {id, last_ref};
  }

  // The task was not queued after all: its `done` is dropped, never called.
  void drop_task(std::uint64_t id) noexcept {
    std::lock_guard lock(mutex);
    pending.erase(id);
    reading.set_awaited(pending.size());
    if (settled()) idle.notify_all();  // join() may wait for it
  }

  // --- in the pool's process ------------------------------------------------------------------

  // The result queue's sinks (`reading` reads the queue). A result is read where it lies in the
  // queue, under the queue's get lock: a map's chunk is decoded once, straight into the caller's
  // result, instead of first being copied out of the queue.
  static void handle(void* self, std::span<const std::byte> bytes) {
    static_cast<State*>(self)->handle_result(bytes);
  }
  // A large result is read from its body as its pages are given back: not mapped whole beside
  // the value decoded from it.
  static bool handle_body(void* self, std::span<const std::byte> bytes) {
    struct InBody {
      InBody() noexcept { g_result_in_body = true; }
      ~InBody() { g_result_in_body = false; }
    } in_body;
    static_cast<State*>(self)->handle_result(bytes);
    return false;
  }

  // What readers handed to the pool's thread.
  void run_handed() {
    auto after_one = [this] {
      std::lock_guard lock(mutex);
      if (settled()) idle.notify_all();
    };
    for (;;) {
      try {
        if (!reading.run_one_handed()) return;
      } catch (...) {
        after_one();  // the job is gone all the same: join() must not wait for it
        throw;
      }
      after_one();
    }
  }

  bool settled() const { return pending.empty() && reading.nothing_handed() && delivering == 0; }

  void handle_result(std::span<const std::byte> bytes) {
    std::uint64_t id = 0;
    runtime::Outcome outcome;
    try {
      if (bytes.size() < sizeof id) throw ProtocolError("malformed pool result");
      std::memcpy(&id, bytes.data(), sizeof id);
      outcome = runtime::read_outcome(bytes.subspan(sizeof id));
    } catch (const ProtocolError&) {
      return;  // not from a worker of ours: dropped
    }
    if (id == kInitFailed) {
      // It kills the workers, which only the pool's thread touches while it runs. That thread
      // gets the message, not the exception: an exception_ptr's count lives in libstdc++, where
      // ThreadSanitizer cannot see it order the other thread's read before this one's free.
      std::string why = init_failure(outcome.error);
      if (ResultReading::on_pool_thread()) {
        break_pool(std::move(why));
      } else {
        reading.hand_over([this, why = std::move(why)] { break_pool(why); });
      }
    } else {
      finish(id, outcome.result, outcome.error);
    }
  }

  static std::string init_failure(const std::exception_ptr& error) {
    std::string why = "a worker's initializer failed";
    try {
      if (error) std::rethrow_exception(error);
    } catch (const std::exception& e) {
      why += std::string(" (") + e.what() + ")";
    } catch (...) {
    }
    return why + ": the pool cannot run tasks";
  }

  // A worker's initializer failed: no worker can be trusted to run tasks (Python's executor
  // breaks the same way; its Pool would start workers forever). Every task, pending or to come,
  // fails with BrokenProcessPool naming the error (`why`, from init_failure); the workers are
  // stopped.
  void break_pool(const std::string& why) {
    std::unordered_map<std::uint64_t, Pending> left;
    {
      std::lock_guard lock(mutex);
      if (!broken.empty()) return;
      broken = why;
      left.swap(pending);
      reading.set_awaited(0);
    }
    for (auto& w : workers) w.kill();
    for (auto& [id, task] : left) task.done({}, std::make_exception_ptr(BrokenProcessPool(why)));
    results.wake_getters();  // a reader waiting for one of them
    std::lock_guard lock(mutex);
    idle.notify_all();
  }

  bool is_broken() {
    std::lock_guard lock(mutex);
    return !broken.empty();
  }

  // A task past options.task_timeout: failed with TimeoutError, its worker killed (and
  // replaced by replace_dead_workers, which then finds the task already finished).
  void stop_overdue_tasks() {
    if (!options.task_timeout) return;
    const auto now = std::chrono::steady_clock::now();
    seen.resize(workers.size());
    for (std::size_t i = 0; i < workers.size(); ++i) {
      const std::uint64_t id =
          std::atomic_ref<std::uint64_t>(running[i]).load(std::memory_order_acquire);
      if (id != seen[i].first) {
        seen[i] = {id, now};
        continue;
      }
      if (id == kStop || now - seen[i].second < *options.task_timeout) continue;
      const auto ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(*options.task_timeout).count();
      finish(id, {},
             std::make_exception_ptr(
                 TimeoutError("the task ran longer than the pool's task_timeout (" +
                              std::to_string(ms) + " ms); its worker was killed")));
      workers[i].kill();
      seen[i] = {kStop, now};
    }
  }

  void finish(std::uint64_t id, std::span<const std::byte> result, std::exception_ptr error) {
    Done done;
    bool last = false;
    const bool counted = !ResultReading::on_pool_thread();
    {
      std::lock_guard lock(mutex);
      auto it = pending.find(id);
      if (it == pending.end()) return;  // already failed (see the file's comment)
      // Once the pool's thread stops, nothing would run what is handed to it: terminate() runs
      // what was handed before then, and this thread the rest.
      if (!it->second.any_thread && !ResultReading::on_pool_thread() && !reading.stopped()) {
        // Read by a waiting caller: the pool's thread runs it, from a copy of the result.
        reading.hand_over_locked([done = std::move(it->second.done),
                                  bytes = std::vector<std::byte>(result.begin(), result.end()),
                                  error]() mutable { done(bytes, error); });
        pending.erase(it);
        reading.set_awaited(pending.size());
        return;
      }
      done = std::move(it->second.done);
      pending.erase(it);
      reading.set_awaited(pending.size());
      if (counted) ++delivering;
      last = settled();
    }
    struct Delivered {  // also when `done` throws
      State& s;
      bool counted;
      bool last;
      ~Delivered() {
        if (!counted && !last) return;
        std::lock_guard lock(s.mutex);  // join() waits for `pending` to empty, `done` to have run
        if (counted) --s.delivering;
        if (s.settled()) s.idle.notify_all();
      }
    } delivered{*this, counted, last};
    done(result, error);
  }

  void replace_dead_workers() {
    if (is_broken()) return;  // the workers were stopped on purpose
    for (std::size_t i = 0; i < workers.size(); ++i) {
      if (workers[i].is_alive()) continue;
      const int code = workers[i].exitcode().value_or(0);
      const int pid = workers[i].pid();
      reading.drain();          // a result the worker sent before it died is still a result
      if (is_broken()) return;  // what it sent was its initializer's failure
      std::atomic_ref<std::uint64_t> slot(running[i]);
      if (const std::uint64_t id = slot.exchange(0); id != kStop) {
        finish(id, {}, std::make_exception_ptr(WorkerCrashed(pid, code, describe_exit(pid, code))));
      }
      workers[i] = start_worker(i, /*from_pool_thread=*/true);
    }
  }

  void loop() {
    ResultReading::become_pool_thread();
    auto checked = std::chrono::steady_clock::now();
    while (!reading.stopped()) {
      try {
        // Results as they come, unless a caller reads them or none is awaited; between them,
        // at most every kCheckEvery, the workers' health.
        run_handed();
        reading.read_or_park();
        const auto now = std::chrono::steady_clock::now();
        if (now - checked < kCheckEvery) continue;
        checked = now;
        reading.read_now();
        stop_overdue_tasks();
        replace_dead_workers();
        reading.wake_reader();  // for a task that has just failed (crashed, overdue)
      } catch (const std::exception& e) {
        // A result that cannot be read or a worker that cannot be forked right now (EAGAIN):
        // this thread must go on, or every caller would wait forever. Try again shortly.
        std::fprintf(stderr, "mp: pool: %s\n", e.what());
        std::this_thread::sleep_for(ResultReading::kPoll);
      }
    }
  }

  // Marks the teardown of join() or terminate() over, also when it throws: a join() waiting in
  // another thread returns.
  struct Ended {
    State& s;
    ~Ended() {
      {
        std::lock_guard lock(s.mutex);
        s.ended = true;
      }
      s.idle.notify_all();
    }
  };

  void stop_thread() {
    reading.stop();
    if (thread.joinable()) thread.join();
  }
};

PoolCore::PoolCore(std::size_t processes, const PoolOptions& options)
    : state_(std::make_shared<State>(
          processes == 0 ? static_cast<std::size_t>(cpu_count()) : processes, options)) {
  State& s = *state_;
  s.workers.reserve(s.processes);
  try {
    // Before the pool's thread exists: the zygote is a copy of the caller's thread alone.
    if (s.method == StartMethod::fork) s.zygote = ForkServer::fork_zygote("PoolZygote");
    for (std::size_t i = 0; i < s.processes; ++i) {
      s.workers.push_back(s.start_worker(i, /*from_pool_thread=*/false));
    }
  } catch (...) {
    for (auto& w : s.workers) {
      w.kill();
      w.join();
    }
    s.stop_zygote();
    throw;
  }
  note_library_thread(+1);
  s.thread = std::thread([&s] { s.loop(); });
}

PoolCore::~PoolCore() {
  terminate();
}

std::weak_ptr<ResultReader> PoolCore::reader() const noexcept {
  return std::shared_ptr<ResultReader>(state_, &state_->reading);
}

bool PoolCore::result_in_body() noexcept {
  return g_result_in_body;
}

std::size_t PoolCore::processes() const noexcept {
  return state_->processes;
}

bool PoolCore::broken() const {
  return state_->is_broken();
}

void PoolCore::submit(Invoker invoker, std::vector<std::byte> payload, Done done,
                      Delivery delivery) {
  submit(invoker, std::span<std::byte>(payload), std::move(done), delivery);
}

void PoolCore::submit(Invoker invoker, std::span<std::byte> payload, Done done, Delivery delivery) {
  if (payload.size() < kTaskHeaderSpace)
    throw ValueError("a pool task without room for its header");
  const TaskHeader h = state_->open_task(invoker, std::move(done), delivery);
  std::memcpy(payload.data(), &h, sizeof h);
  try {
    state_->tasks.put(payload, std::nullopt);
  } catch (...) {
    state_->drop_task(h.id);
    throw;
  }
}

void PoolCore::submit(Invoker invoker, EncodeTask encode, const void* context, Done done,
                      Delivery delivery) {
  const TaskHeader h = state_->open_task(invoker, std::move(done), delivery);
  try {
    QueueCore::Message message(state_->tasks);
    {
      OutputArchive ar(message);
      ar.saveBinary(&h, sizeof h);
      encode(context, ar);
    }
    state_->tasks.put(message, std::nullopt);
  } catch (...) {
    state_->drop_task(h.id);
    throw;
  }
}

void PoolCore::close() {
  std::lock_guard lock(state_->mutex);
  state_->closed = true;
}

void PoolCore::join() {
  State& s = *state_;
  {
    std::unique_lock lock(s.mutex);
    if (!s.closed) throw ValueError("Pool is still running: close() or terminate() it first");
    // Until every task is done, or another thread joins or terminates the pool meanwhile: then
    // until that thread has stopped the workers, as join() promises.
    s.idle.wait(lock, [&] { return s.settled() || s.finished; });
    if (s.finished) {
      // Not on the pool's thread (a callback's join()): the teardown waits for that thread.
      if (!ResultReading::on_pool_thread()) s.idle.wait(lock, [&] { return s.ended; });
      return;
    }
    s.finished = true;
  }
  State::Ended ended{s};
  s.stop_thread();
  note_library_thread(-1);
  TaskHeader stop{kStop, {}};
  std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(&stop), sizeof stop);
  for (std::size_t i = 0; i < s.workers.size(); ++i) s.tasks.put(bytes, std::nullopt);
  runtime::log(LogLevel::debug, "joining pool workers");
  for (auto& w : s.workers) w.join();
  s.stop_zygote();
}

void PoolCore::terminate() {
  State& s = *state_;
  runtime::log(LogLevel::debug, "terminating pool");
  {
    std::unique_lock lock(s.mutex);
    s.closed = true;
    if (s.finished) {
      // Another thread's join() or terminate() is stopping the workers: returns once they are
      // (not on the pool's thread, which that teardown waits for).
      if (!ResultReading::on_pool_thread()) s.idle.wait(lock, [&] { return s.ended; });
      return;
    }
    s.finished = true;
  }
  s.idle.notify_all();  // a join() waiting in another thread waits for `ended` instead
  State::Ended ended{s};
  s.stop_thread();
  note_library_thread(-1);
  runtime::log(LogLevel::debug, "terminating workers");
  for (auto& w : s.workers) w.terminate();
  runtime::log(LogLevel::debug, "joining pool workers");
  for (auto& w : s.workers) {
    if (!w.join(std::chrono::seconds(1))) {
      w.kill();
      w.join();
    }
  }
  s.stop_zygote();
  s.run_handed();  // results already read are still results
  std::unordered_map<std::uint64_t, State::Pending> left;
  {
    std::lock_guard lock(s.mutex);
    left.swap(s.pending);
    s.reading.set_awaited(0);
  }
  for (auto& [id, task] : left) {
    task.done({}, std::make_exception_ptr(BrokenProcessPool("the pool was terminated")));
  }
}

}  // namespace mp::detail
