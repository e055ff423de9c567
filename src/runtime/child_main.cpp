// runtime/child_main.cpp — what a child process runs, and how it ends.
//
// The child never returns into the parent's main(): it ends with _exit, after its own cleanup
// (its daemonic children terminated, the others joined, stdio flushed). std::exit(n) called by
// the target takes the same road through an on_exit hook, which also receives n.
#include <cxxabi.h>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <typeinfo>

#include "runtime/process_state.hpp"
#include "sys/child.hpp"

namespace mp::detail {

namespace {

std::string demangle(const char* name) {
  int status = 0;
  char* out = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  std::string result = (status == 0 && out != nullptr) ? out : name;
  std::free(out);
  return result;
}

[[noreturn]] void finish(int code) noexcept {
  finalize_children();
  sys::flush_stdio(/*all_streams=*/false);
  sys::exit_now(code);
}

void on_exit_hook(int status, void*) {
  finish(status);
}

void report(const std::string& process_name) noexcept {
  try {
    std::string type = "unknown exception";
    std::string what;
    try {
      throw;
    } catch (const std::exception& e) {
      type = demangle(typeid(e).name());
      what = e.what();
    } catch (...) {
      if (const std::type_info* t = abi::__cxa_current_exception_type()) type = demangle(t->name());
    }
    std::fflush(stdout);
    std::fprintf(stderr, "Process %s:\n%s%s%s\n", process_name.c_str(), type.c_str(),
                 what.empty() ? "" : ": ", what.c_str());
    std::fflush(stderr);
  } catch (...) {
    // Out of memory while reporting: the exit code still says what happened.
  }
}

}  // namespace

void run_child(const std::shared_ptr<ProcessState>& self) noexcept {
  sys::on_exit_first(on_exit_hook);  // registered last, so it runs first at std::exit
  int code = 0;
  try {
    if (self->target) self->target();
  } catch (...) {
    report(self->name);
    code = 1;
  }
  finish(code);
}

}  // namespace mp::detail
