// services/pool_worker.cpp — a pool worker: takes tasks, runs them, sends their results.
#include "services/pool_worker.hpp"

#include <atomic>
#include <charconv>
#include <cstring>
#include <type_traits>

#include "ipc/kept_body.hpp"
#include "runtime/exception_info.hpp"
#include "runtime/log.hpp"
#include "runtime/outcome.hpp"

namespace mp::detail {

namespace {

// A worker's answer to a task: `prefix` holds its [id][success header]. A result written whole
// (write) is encoded after a copy of the prefix straight into a message of the result queue, a
// large one into shared memory directly, and sent; results appended to the vector are sent by
// the worker's loop, as is an error.
struct Reply final : ResultOut {
  Reply(QueueCore& to, std::vector<std::byte>& header) noexcept : results(to), prefix(header) {}
  void write(Encode encode, const void* value) override {
    // Encoding runs no call of the task's, so the thread's encoding buffer (the message's) is
    // not borrowed twice.
    QueueCore::Message message(results);
    {
      OutputArchive ar(message);
      ar.saveBinary(prefix.data(), prefix.size());
      encode(value, ar);
    }
    results.put(message, std::nullopt);
    sent = true;
  }
  std::vector<std::byte>& vector() override { return prefix; }

  QueueCore& results;
  std::vector<std::byte>& prefix;
  bool sent = false;
};

void log_worker_exit(std::size_t done) noexcept {
  char digits[24];
  const char* end = std::to_chars(digits, digits + sizeof digits, done).ptr;
  runtime::log(LogLevel::debug, {"worker exiting after ", {digits, end}, " tasks"});
}

}  // namespace

// Takes tasks until told to stop (or until `maxtasks`, when not 0): the loop of every worker,
// whichever way it was started.
void serve_tasks(QueueCore& tasks, QueueCore& results, RawArray<std::uint64_t>& running,
                 std::size_t index, Invoker initializer, std::span<const std::byte> init_args,
                 std::size_t maxtasks) {
  std::vector<std::byte> task, out, reply;  // `out`: the initializer's (ignored) result
  if (initializer != nullptr) {
    try {
      VectorResult init_out(out);
      initializer(init_args, init_out);
    } catch (...) {
      // The pool is broken (see PoolCore::broken): say why, and take no task.
      const runtime::ExceptionInfo error = runtime::describe_current_exception();
      reply.resize(sizeof kInitFailed);
      std::memcpy(reply.data(), &kInitFailed, sizeof kInitFailed);
      runtime::append_outcome(reply, &error, {});
      results.put(reply, std::nullopt);
      return;
    }
  }
  std::atomic_ref<std::uint64_t> slot(running[index]);
  CodeRef invoker_ref;  // the last task's invoker, resolved once for a run of the same call
  Invoker invoker = nullptr;
  for (std::size_t done = 0;;) {
    struct Take {
      std::vector<std::byte>* task;
      std::atomic_ref<std::uint64_t>* slot;
      TaskHeader header{};
      std::span<const std::byte> body;  // a large task's message, kept in its body
    } take{&task, &slot, {}, {}};
    tasks.get(
        [](void* ctx, std::span<const std::byte> bytes) {
          auto& t = *static_cast<Take*>(ctx);
          if (bytes.size() < sizeof(TaskHeader)) throw ProtocolError("malformed pool task");
          std::memcpy(&t.header, bytes.data(), sizeof(TaskHeader));
          t.task->assign(bytes.begin() + sizeof(TaskHeader), bytes.end());
          t.slot->store(t.header.id, std::memory_order_release);
        },
        &take, std::nullopt,
        // A large task is read where it lies, after the get lock is released, as its pages are
        // given back: not copied out under the lock, nor mapped whole beside its decoding.
        [](void* ctx, std::span<const std::byte> bytes) {
          auto& t = *static_cast<Take*>(ctx);
          if (bytes.size() < sizeof(TaskHeader)) throw ProtocolError("malformed pool task");
          std::memcpy(&t.header, bytes.data(), sizeof(TaskHeader));
          t.slot->store(t.header.id, std::memory_order_release);
          t.body = bytes;
          return true;  // read after the get, and released then
        });
    struct Release {
      std::span<const std::byte> body;
      ~Release() {
        if (!body.empty()) release_kept_body(body);
      }
    } release{take.body};
    if (take.header.id == kStop) {
      runtime::log(LogLevel::debug, "worker got sentinel -- exiting");
      log_worker_exit(done);
      return;
    }
    // The reply is [id][outcome]: the result is encoded straight after a success header, and
    // replaced by the error should the call throw.
    reply.resize(sizeof take.header.id);
    std::memcpy(reply.data(), &take.header.id, sizeof take.header.id);
    runtime::append_success_header(reply);
    Reply answer(results, reply);
    answer.task_in_body = !take.body.empty();
    const std::span<const std::byte> in = take.body.empty() ? std::span<const std::byte>(task)
                                                            : take.body.subspan(sizeof(TaskHeader));
    try {
      if (invoker == nullptr || !(take.header.invoker == invoker_ref)) {
        invoker = resolve_function<std::remove_pointer_t<Invoker>>(take.header.invoker);
        invoker_ref = take.header.invoker;
      }
      invoker(in, answer);
    } catch (...) {
      if (!answer.sent) {
        const runtime::ExceptionInfo error = runtime::describe_current_exception();
        reply.resize(sizeof take.header.id);
        runtime::append_outcome(reply, &error, {});
      }
    }
    if (!answer.sent) results.put(reply, std::nullopt);
    slot.store(0, std::memory_order_release);
    if (++done == maxtasks) {  // never, for maxtasks 0
      log_worker_exit(done);
      return;
    }
  }
}

void worker_main(WorkerSpec spec) {
  Invoker initializer = nullptr;
  if (spec.initializer) {
    initializer = resolve_function<std::remove_pointer_t<Invoker>>(*spec.initializer);
  }
  serve_tasks(spec.tasks, spec.results, spec.running, spec.index, initializer, spec.init_args,
              spec.maxtasks);
}

}  // namespace mp::detail
