// tests/support/command.hpp — run another program with a hard timeout and capture its output.
// The program is killed (SIGKILL) when the timeout passes; it is never waited on forever.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace mp::testing {

struct CommandResult {
  int exitcode = 0;  // as Process::exitcode(): -N after signal N
  bool timed_out = false;
  std::string out;  // standard output
  std::string err;  // standard error
};

CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);

// A program started in the background, its stdout read line by line.
class RunningCommand {
 public:
  explicit RunningCommand(const std::vector<std::string>& argv);
  ~RunningCommand();  // kills and reaps the program if still running
  RunningCommand(const RunningCommand&) = delete;
  RunningCommand& operator=(const RunningCommand&) = delete;

  // The next line of stdout (without '\n'), or "" on EOF or timeout.
  std::string read_line(std::chrono::milliseconds timeout);
  // Everything left on stdout until EOF or the timeout.
  std::string read_rest(std::chrono::milliseconds timeout);
  void kill(int sig);
  // Waits for the exit; returns the exit code, or nullopt-like INT_MIN on timeout.
  int wait(std::chrono::milliseconds timeout);
  int pid() const { return pid_; }

 private:
  int pid_ = -1;
  int out_ = -1;
  bool reaped_ = false;
  std::string buffer_;
};

// True once `pid` has ended (zombies count as ended).
bool pid_gone(int pid);

}  // namespace mp::testing
