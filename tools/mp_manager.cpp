// mp-manager: serves a manager's named objects to any program built with mp (the other side of
// mp::Manager::connect), until a client shuts it down or it gets SIGTERM / SIGINT.
//
//   mp-manager --address /run/app.sock --authkey-file /etc/app/key [--release-delay-ms 5000]
//   mp-manager --address 127.0.0.1:50000 --authkey-file key
//
// The key is the file's contents, less one trailing newline. It prints "mp-manager: serving on
// <address>" once it listens (the port chosen, for "host:0").
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <sstream>
#include <string>

#include "mp/managers.hpp"
#include "mp/context.hpp"

namespace {

char g_socket_path[4096];  // unlinked on SIGTERM / SIGINT; empty for TCP

extern "C" void on_signal(int) {
  if (g_socket_path[0] != '\0') ::unlink(g_socket_path);
  ::_exit(0);
}

int usage(const char* why) {
  std::fprintf(stderr,
               "mp-manager: %s\nusage: mp-manager --address PATH|HOST:PORT --authkey-file FILE "
               "[--release-delay-ms N]\n",
               why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  mp::freeze_support();
  mp::ManagerOptions options;
  std::string key_file;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) return usage(("missing value after " + arg).c_str());
    const std::string value = argv[++i];
    if (arg == "--address") {
      options.address = value;
    } else if (arg == "--authkey-file") {
      key_file = value;
    } else if (arg == "--release-delay-ms") {
      options.release_delay = std::chrono::milliseconds(std::atol(value.c_str()));
    } else {
      return usage(("unknown option " + arg).c_str());
    }
  }
  if (options.address.empty()) return usage("--address is required");
  if (key_file.empty()) return usage("--authkey-file is required (a manager needs a key)");
  std::ifstream in(key_file);
  if (!in) return usage(("cannot read " + key_file).c_str());
  std::stringstream text;
  text << in.rdbuf();
  options.authkey = text.str();
  if (!options.authkey.empty() && options.authkey.back() == '\n') options.authkey.pop_back();
  if (options.authkey.empty()) return usage("the key file is empty");

  if (options.address.find('/') != std::string::npos &&
      options.address.size() < sizeof g_socket_path) {
    std::strcpy(g_socket_path, options.address.c_str());
  }
  ::signal(SIGTERM, on_signal);
  ::signal(SIGINT, on_signal);
  try {
    mp::Manager::serve_forever(options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mp-manager: %s\n", e.what());
    return 1;
  }
  return 0;
}
