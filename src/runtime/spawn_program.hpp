// runtime/spawn_program.hpp — re-executing this program for spawn and the forkserver.
#pragma once

#include <string>

namespace mp::detail {

// The program a re-executed child runs: mp::set_executable's choice, else /proc/self/exe.
std::string executable();
void set_executable_path(std::string path);

// Runs the program again with MP_BOOT=<role>:3 and `fd` as its descriptor 3; sets `pid`.
// Returns errno.
int run_program(const char* role, int fd, int& pid);

}  // namespace mp::detail
