// mp/context.hpp — start methods, as Python's multiprocessing.get_context().
//
//   mp::set_start_method(mp::StartMethod::fork);       // process-wide default
//   auto ctx = mp::get_context(mp::StartMethod::fork);   // or a context of its own
//   auto same = mp::get_context("fork");                  // Python's spelling works too
//   mp::Process p = ctx.Process(work, 42);
//
// The three methods, as in Python:
// - fork: the child is a copy of this process. Fast, and any callable works (a lambda that
//   captures too). Unsafe when other threads run: the child may deadlock on a lock one of them
//   held (malloc's, iostream's). mp prints a one-time warning when fork starts a process from a
//   program that has threads of its own.
// - spawn: the child runs this program again (/proc/self/exe) and only the target. Safe with
//   threads; slower to start (an exec and the program's global constructors).
// - forkserver: a server, started once by spawn, forks each child. Safe with threads, and
//   nearly as fast as fork after the first start.
// Under spawn and forkserver the target must be a function pointer, a captureless lambda or an
// encodable function object, and its arguments encodable values or mp handles (Value, Lock,
// Queue, Connection, ...); start() throws ProcessError naming what cannot travel.
//
// spawn and forkserver need one line at the top of main, as Python's `if __name__ ==
// "__main__":` guard:
//
//   int main() {
//     mp::freeze_support();   // in a re-executed child: runs the target and exits
//     ...
//   }
//
// What runs in such a child before main: the program's global constructors (as Python imports
// the main module). Keep them free of side effects, and never start threads in them: the
// forkserver forks from that state. Without the line, the child stops with an error instead of
// running main again: at once when main never calls freeze_support, else when main starts mp
// work first, or at exit.
//
// MP_START_METHOD=fork|spawn|forkserver in the environment sets the default without
// recompiling; set_start_method overrides it.
//
// Differences from Python: set_start_method may be called again (Python needs force=True).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

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

  // Makes a Process that has not started use this context's method.
  void bind(mp::Process& p) const;
  // mp::set_forkserver_preload (Python's context has the method too).
  void set_forkserver_preload(std::vector<void (*)()> functions) const;

 private:
  StartMethod method_;
};

void set_start_method(StartMethod method);
// Python's spellings: "fork", "spawn", "forkserver"; ValueError for any other.
void set_start_method(std::string_view method);
// The default method: set_start_method's, else MP_START_METHOD's, else fork. Throws ValueError
// when MP_START_METHOD names no method.
StartMethod get_start_method();
std::vector<StartMethod> get_all_start_methods();  // fork, spawn, forkserver
Context get_context(StartMethod method) noexcept;
Context get_context(std::string_view method);  // "fork", "spawn", "forkserver"; else ValueError
Context get_context();                         // the current default

// In a child started by spawn or forkserver: runs what it was started for and exits, never
// returning. Elsewhere: returns at once. The first statement of main().
void freeze_support();

// The program spawn and the forkserver run (Python's set_executable): by default this one
// (/proc/self/exe). It must be the same build, or children refuse to run the target.
void set_executable(std::string path);

// Python's set_forkserver_preload: functions the forkserver runs once, as it starts and before
// it forks any child, so that its children start with what they set up (a library loaded, a
// table built) instead of each doing it again. Function pointers only: they travel by build and
// offset (a function of another library throws ProcessError here). As in Python, it takes effect
// when the forkserver starts: call it before the first forkserver child. One that throws is
// reported on stderr and the server goes on.
void set_forkserver_preload(std::vector<void (*)()> functions);

}  // namespace mp
