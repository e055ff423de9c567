// runtime/context.cpp — the process-wide start method and contexts bound to one.
#include <atomic>

#include "mp/context.hpp"
#include "runtime/process_state.hpp"

namespace mp {

namespace {
std::atomic<StartMethod> g_method{StartMethod::fork};
}

void set_start_method(StartMethod method) {
  g_method.store(method);
}
StartMethod get_start_method() noexcept {
  return g_method.load();
}
Context get_context(StartMethod method) noexcept {
  return Context(method);
}
Context get_context() noexcept {
  return Context(get_start_method());
}

void Context::bind(mp::Process& p) const {
  if (p.state_->started) throw ProcessError("process has already started");
  p.state_->method = method_;
}

}  // namespace mp
