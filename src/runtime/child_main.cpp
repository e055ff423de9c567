// runtime/child_main.cpp — what a child process runs, and how it ends.
//
// The child never returns into the parent's main(): it ends with _exit, after its own cleanup
// (its daemonic children terminated, the others joined, stdio flushed). std::exit(n) called by
// the target takes the same road through an on_exit hook, which also receives n.
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "runtime/exception_info.hpp"
#include "runtime/log.hpp"
#include "runtime/process_state.hpp"
#include "sys/child.hpp"

namespace mp::detail {

namespace {

[[noreturn]] void finish(int code) noexcept {
  finalize_children();
  char digits[16];
  const char* end = std::to_chars(digits, digits + sizeof digits, code).ptr;
  runtime::log(LogLevel::info, {"process exiting with exitcode ", {digits, end}});
  sys::flush_stdio(/*all_streams=*/false);
  sys::exit_now(code);
}

void on_exit_hook(int status, void*) {
  finish(status);
}

void report(const std::string& process_name) noexcept {
  const runtime::ExceptionInfo info = runtime::describe_current_exception();
  std::fflush(stdout);
  std::fprintf(stderr, "Process %s:\n%s%s%s\n", process_name.c_str(), info.type.c_str(),
               info.what.empty() ? "" : ": ", info.what.c_str());
  std::fflush(stderr);
}

}  // namespace

void run_child(const std::shared_ptr<ProcessState>& self) noexcept {
  sys::on_exit_first(on_exit_hook);  // registered last, so it runs first at std::exit
  int code = 0;
  runtime::log(LogLevel::info, "child process calling self.run()");
  try {
    if (self->target) self->target();
  } catch (...) {
    report(self->name);
    code = 1;
  }
  finish(code);
}

}  // namespace mp::detail
