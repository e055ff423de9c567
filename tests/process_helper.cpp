// tests/process_helper.cpp — scenarios that need a whole program of their own (exit handling,
// the death of a parent), run by process_test.cpp. The first argument names the scenario.
#include <unistd.h>

#include <csignal>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>

#include "mp/context.hpp"
#include "mp/logger.hpp"
#include "mp/pool.hpp"
#include "mp/process.hpp"
#include "mp/queues.hpp"
#include "mp/shared_memory.hpp"
#include "mp/shared_memory_manager.hpp"
#include "mp/synchronize.hpp"

namespace {

using namespace std::chrono_literals;

struct StaticWitness {
  ~StaticWitness() { std::printf("static destructor\n"); }
} g_witness;

[[noreturn]] void loop_forever() {
  for (;;) std::this_thread::sleep_for(50ms);
}

int exit_handlers() {
  std::atexit([] { std::printf("atexit handler\n"); });
  mp::Process returns([] { std::printf("child returns\n"); });
  mp::Process exits([] {
    std::printf("child calls exit\n");
    std::exit(3);
  });
  returns.start();
  if (!returns.join(30s)) return 4;
  exits.start();
  if (!exits.join(30s)) return 4;
  std::printf("codes %d %d\n", *returns.exitcode(), *exits.exitcode());
  return 0;
}

// A daemonic child, then this process waits to be killed.
[[noreturn]] void daemon_orphan() {
  mp::Process d(loop_forever);
  d.set_daemon(true);
  d.start();
  std::printf("%d\n", d.pid());
  std::fflush(stdout);
  loop_forever();
}

// Normal exit: the daemon is terminated, the other child joined first. The worker prints only
// once main has printed its line (an Event, not a sleep, orders the two).
int exit_with_children() {
  mp::Process d(loop_forever);
  d.set_daemon(true);
  d.start();
  mp::Event main_printed;
  mp::Process worker([main_printed]() mutable {
    if (!main_printed.wait_for(30s)) std::exit(5);
    std::this_thread::sleep_for(100ms);  // still running when main returns, most often
    std::printf("worker done\n");
  });
  worker.start();
  std::printf("%d\n", d.pid());
  std::printf("main returns\n");
  std::fflush(stdout);  // before the exit handler joins the worker, which prints too
  main_printed.set();
  return 0;
}

// Creates a named block, says its name, and dies without unlinking it: the resource tracker
// must unlink it. With `in_child`, this process first creates a block of its own (which starts
// the tracker), then a forked child, sharing that tracker, creates one and dies.
[[noreturn]] void killed_shm_creator(bool in_child) {
  auto create_and_report = [] {
    auto shm = mp::SharedMemory::create(4096);
    std::printf("%s\n", shm.name().c_str());
    std::fflush(stdout);
    std::raise(SIGKILL);
  };
  if (in_child) {
    auto mine = mp::SharedMemory::create(4096);
    std::printf("%s\n", mine.name().c_str());
    std::fflush(stdout);
    mp::Process p(create_and_report);
    p.start();
    if (!p.join(30s)) std::exit(4);
    std::printf("child gone\n");
    std::fflush(stdout);
    loop_forever();  // the test kills this process too
  }
  create_and_report();
  loop_forever();
}

// Prints the names of two blocks of a SharedMemoryManager, one made here and one by a spawned
// child (which has a resource tracker of its own), then dies by SIGKILL.
[[noreturn]] void killed_shm_manager() {
  mp::SharedMemoryManager smm;
  std::printf("%s\n", smm.shared_memory(4096).name().c_str());
  mp::Queue<std::string> names;
  auto child =
      mp::get_context(mp::StartMethod::spawn)
          .Process([](mp::SharedMemoryManager smm,
                      mp::Queue<std::string> names) { names.put(smm.shared_memory(4096).name()); },
                   smm, names);
  child.start();
  std::printf("%s\n", names.get(30s).c_str());
  std::fflush(stdout);
  if (!child.join(30s)) std::exit(4);
  std::raise(SIGKILL);
  loop_forever();
}

void hello() {
  std::printf("hi\n");
}
int twice(int x) {
  return 2 * x;
}

// Python's log_to_stderr(logging.DEBUG) around a forked child, a spawned one (which inherits
// the settings) and a pool of one worker (tests/logger_test.cpp reads stderr).
int logging_demo() {
  auto& log = mp::log_to_stderr(mp::LogLevel::debug);
  mp::Process forked(hello);
  forked.start();
  forked.join();
  auto spawned = mp::get_context(mp::StartMethod::spawn).Process(hello);
  spawned.start();
  spawned.join();
  mp::Pool pool(1);
  if (pool.apply(twice, 21) != 42) return 3;
  pool.close();
  pool.join();
  log.info("done");
  return 0;
}

int g_preloaded_by = 0;  // set by the forkserver's preload, in the server
void record_preload() {
  g_preloaded_by = ::getpid();
}
void failing_preload() {
  throw std::runtime_error("no such plugin");
}

// Two forkserver children report (exit code 42) whether they started with what the preload set
// up, in another process than their own: the server.
int forkserver_preload() {
  mp::set_forkserver_preload({failing_preload, record_preload});
  auto ctx = mp::get_context(mp::StartMethod::forkserver);
  for (int i = 0; i < 2; ++i) {
    auto p = ctx.Process(
        [] { std::exit(g_preloaded_by != 0 && g_preloaded_by != ::getpid() ? 42 : 1); });
    p.start();
    if (!p.join(30s)) return 4;
    std::printf("%d\n", p.exitcode().value_or(-1));
  }
  return 0;
}

// get_logger() alone: mp makes no message of its own at the default level, and a warning is
// printed bare (Python's last-resort handler).
int quiet_logger() {
  auto& log = mp::get_logger();
  mp::Process p(hello);
  p.start();
  p.join();
  log.info("not shown");
  log.warning("shown bare");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  mp::freeze_support();
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "exit-handlers") return exit_handlers();
  if (mode == "uncaught") {
    mp::Process p([] { throw std::runtime_error("boom"); });
    p.set_name("Worker-9");
    p.start();
    if (!p.join(30s)) return 4;
    std::printf("exit code %d\n", *p.exitcode());
    return 0;
  }
  if (mode == "print-start-method") {
    std::printf("%s\n", mp::to_string(mp::get_start_method()));
    return 0;
  }
  if (mode == "daemon-orphan") daemon_orphan();
  if (mode == "exit-with-children") return exit_with_children();
  if (mode == "killed-shm-creator") killed_shm_creator(false);
  if (mode == "killed-shm-creator-child") killed_shm_creator(true);
  if (mode == "killed-shm-manager") killed_shm_manager();
  if (mode == "logging") return logging_demo();
  if (mode == "quiet-logger") return quiet_logger();
  if (mode == "forkserver-preload") return forkserver_preload();
  std::fprintf(stderr, "unknown mode '%s'\n", mode.c_str());
  return 2;
}
