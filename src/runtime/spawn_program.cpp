#include "runtime/spawn_program.hpp"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/boot.hpp"
#include "sys/child.hpp"

extern char** environ;

namespace mp::detail {

namespace {

constexpr int kBootFd = 3;

constexpr const char* kPreloadVariable = "MP_FORKSERVER_PRELOAD";

std::mutex g_mutex;
std::string g_executable;        // guarded by g_mutex; empty: /proc/self/exe
std::vector<CodeRef> g_preload;  // guarded by g_mutex

// "<build hex>:<offset hex>,..." for the environment of a forkserver.
std::string preload_text(const std::vector<CodeRef>& refs) {
  std::string text;
  char item[40];
  for (const CodeRef& r : refs) {
    std::snprintf(item, sizeof item, "%s%llx:%llx", text.empty() ? "" : ",",
                  static_cast<unsigned long long>(r.build),
                  static_cast<unsigned long long>(r.offset));
    text += item;
  }
  return text;
}

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
  const std::string preload_prefix = std::string(kPreloadVariable) + "=";
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    if (entry.starts_with(prefix) || entry.starts_with(preload_prefix)) continue;
    env.emplace_back(*e);
  }
  env.push_back(prefix + role + ":" + std::to_string(kBootFd));
  if (std::string_view(role) == "forkserver") {
    std::lock_guard lock(g_mutex);
    if (!g_preload.empty()) env.push_back(preload_prefix + preload_text(g_preload));
  }
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  char* argv[] = {name.data(), nullptr};
  return sys::spawn_program(path.c_str(), argv, envp.data(), fd, kBootFd, pid);
}

void set_forkserver_preload_refs(std::vector<CodeRef> refs) {
  std::lock_guard lock(g_mutex);
  g_preload = std::move(refs);
}

void run_forkserver_preload() noexcept {
  const char* text = std::getenv(kPreloadVariable);
  if (text == nullptr) return;
  // Read in place after unsetenv (so that no child sees it): the string lies in the environment
  // block exec gave us, which unsetenv only unlinks from environ.
  ::unsetenv(kPreloadVariable);
  for (const char* at = text; *at != '\0';) {
    unsigned long long build = 0, offset = 0;
    int used = 0;
    if (std::sscanf(at, "%llx:%llx%n", &build, &offset, &used) != 2) {
      std::fprintf(stderr, "mp: a malformed forkserver preload list: %s\n", text);
      break;
    }
    at += used;
    if (*at == ',') ++at;
    try {
      resolve_function<void()>(CodeRef{build, offset})();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "mp: a forkserver preload function failed: %s\n", e.what());
    } catch (...) {
      std::fprintf(stderr, "mp: a forkserver preload function failed\n");
    }
  }
  std::fflush(stderr);
}

}  // namespace mp::detail
