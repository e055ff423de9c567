// runtime/spawn_program.hpp — re-executing this program for spawn and the forkserver.
#pragma once

#include <string>
#include <vector>

#include "mp/detail/code_ref.hpp"

namespace mp::detail {

// The program a re-executed child runs: mp::set_executable's choice, else /proc/self/exe.
std::string executable();
void set_executable_path(std::string path);

// Runs the program again with MP_BOOT=<role>:3 and `fd` as its descriptor 3; sets `pid`.
// Returns errno. A forkserver is also told its preload functions (MP_FORKSERVER_PRELOAD).
int run_program(const char* role, int fd, int& pid);

// mp::set_forkserver_preload's functions, for the next forkserver started.
void set_forkserver_preload_refs(std::vector<CodeRef> refs);
// In the forkserver, before it serves: runs the functions it was told, once; one that throws
// (or cannot be found) is reported on stderr.
void run_forkserver_preload() noexcept;

}  // namespace mp::detail
