// mp/context.hpp — start methods, as Python's multiprocessing.get_context().
//
//   mp::set_start_method(mp::StartMethod::fork);       // process-wide default
//   auto ctx = mp::get_context(mp::StartMethod::fork);   // or a context of its own
//   mp::Process p = ctx.Process(work, 42);
//
// Differences from Python: set_start_method may be called again (Python needs force=True); the
// forkserver and spawn methods are declared but not yet available, so starting a process with
// them throws ProcessError.
#pragma once

#include <utility>

#include "mp/process.hpp"

namespace mp {

class Context {
 public:
  explicit Context(StartMethod method) noexcept : method_(method) {}
  StartMethod get_start_method() const noexcept { return method_; }

  // The same factory as mp::Process, bound to this context's start method.
  template <class F, class... Args>
  mp::Process Process(F&& f, Args&&... args) const {
    mp::Process p(std::forward<F>(f), std::forward<Args>(args)...);
    bind(p);
    return p;
  }

 private:
  void bind(mp::Process& p) const;
  StartMethod method_;
};

void set_start_method(StartMethod method);
StartMethod get_start_method() noexcept;
Context get_context(StartMethod method) noexcept;
Context get_context() noexcept;  // the current default

}  // namespace mp
