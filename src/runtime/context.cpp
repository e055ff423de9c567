// runtime/context.cpp — the process-wide start method and contexts bound to one.
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "mp/context.hpp"
#include "runtime/process_state.hpp"
#include "runtime/spawn_program.hpp"

namespace mp {

namespace {

constexpr int kUnset = -1;
std::atomic<int> g_method{kUnset};

StartMethod from_environment() {
  const char* v = std::getenv("MP_START_METHOD");
  if (v == nullptr || *v == '\0') return StartMethod::fork;
  for (StartMethod m : get_all_start_methods()) {
    if (std::strcmp(v, to_string(m)) == 0) return m;
  }
  throw ValueError(std::string("MP_START_METHOD=") + v + ": expected fork, spawn or forkserver");
}

}  // namespace

void set_start_method(StartMethod method) {
  g_method.store(static_cast<int>(method));
}
StartMethod get_start_method() {
  int m = g_method.load(std::memory_order_relaxed);
  if (m == kUnset) {
    const StartMethod env = from_environment();
    m = kUnset;
    g_method.compare_exchange_strong(m, static_cast<int>(env));
    m = g_method.load();
  }
  return static_cast<StartMethod>(m);
}
std::vector<StartMethod> get_all_start_methods() {
  return {StartMethod::fork, StartMethod::spawn, StartMethod::forkserver};
}
void set_executable(std::string path) {
  detail::set_executable_path(std::move(path));
}
Context get_context(StartMethod method) noexcept {
  return Context(method);
}
Context get_context() {
  return Context(get_start_method());
}

void Context::bind(mp::Process& p) const {
  if (p.state_->started) throw ProcessError("process has already started");
  p.state_->method = method_;
}

}  // namespace mp
