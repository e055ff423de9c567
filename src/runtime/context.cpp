// runtime/context.cpp — the process-wide start method and contexts bound to one.
#include <atomic>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mp/context.hpp"
#include "mp/errors.hpp"
#include "runtime/process_state.hpp"
#include "runtime/spawn_program.hpp"

namespace mp {

namespace {

constexpr int kUnset = -1;
std::atomic<int> g_method{kUnset};

StartMethod parse(std::string_view name, std::string_view what) {
  for (StartMethod m : get_all_start_methods()) {
    if (name == to_string(m)) return m;
  }
  throw ValueError(std::string(what) + ": expected fork, spawn or forkserver");
}

StartMethod named(std::string_view method) {
  return parse(method, "cannot find context for '" + std::string(method) + "'");
}

StartMethod from_environment() {
  const char* v = std::getenv("MP_START_METHOD");
  if (v == nullptr || *v == '\0') return StartMethod::fork;
  return parse(v, std::string("MP_START_METHOD=") + v);
}

}  // namespace

void set_start_method(StartMethod method) {
  g_method.store(static_cast<int>(method));
}
void set_start_method(std::string_view method) {
  set_start_method(named(method));
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
void Context::set_forkserver_preload(std::vector<void (*)()> functions) const {
  mp::set_forkserver_preload(std::move(functions));
}

void set_forkserver_preload(std::vector<void (*)()> functions) {
  std::vector<detail::CodeRef> refs;
  for (auto* f : functions) {
    if (f == nullptr) throw ValueError("set_forkserver_preload: a null function");
    refs.push_back(detail::code_ref_of(f));
  }
  detail::set_forkserver_preload_refs(std::move(refs));
}

void set_executable(std::string path) {
  detail::set_executable_path(std::move(path));
}
Context get_context(StartMethod method) noexcept {
  return Context(method);
}
Context get_context(std::string_view method) {
  return Context(named(method));
}
Context get_context() {
  return Context(get_start_method());
}

void Context::bind(mp::Process& p) const {
  if (p.state_->started) throw ProcessError("process has already started");
  p.state_->method = method_;
}

}  // namespace mp
