#include "runtime/spawn_program.hpp"

#include <mutex>
#include <string>
#include <vector>

#include "runtime/boot.hpp"
#include "sys/child.hpp"

extern char** environ;

namespace mp::detail {

namespace {

constexpr int kBootFd = 3;

std::mutex g_mutex;
std::string g_executable;  // guarded by g_mutex; empty: /proc/self/exe

}  // namespace

std::string executable() {
  std::lock_guard lock(g_mutex);
  return g_executable.empty() ? "/proc/self/exe" : g_executable;
}

void set_executable_path(std::string path) {
  std::lock_guard lock(g_mutex);
  g_executable = std::move(path);
}

int run_program(const char* role, int fd, int& pid) {
  const std::string path = executable();
  std::string name = sys::program_name();
  if (name.empty()) name = path;
  std::vector<std::string> env;
  const std::string prefix = std::string(kBootVariable) + "=";
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (std::string_view(*e).starts_with(prefix)) continue;
    env.emplace_back(*e);
  }
  env.push_back(prefix + role + ":" + std::to_string(kBootFd));
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  char* argv[] = {name.data(), nullptr};
  return sys::spawn_program(path.c_str(), argv, envp.data(), fd, kBootFd, pid);
}

}  // namespace mp::detail
