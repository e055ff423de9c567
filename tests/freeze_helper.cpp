// tests/freeze_helper.cpp — a program whose main() lacks mp::freeze_support(): a child that
// spawn starts from it must stop with an error, never run main a second time.
#include <cstdio>

#include "mp/context.hpp"

namespace {
void target() {
  std::printf("target ran\n");
}
}  // namespace

int main() {
  std::printf("main\n");
  std::fflush(stdout);
  auto p = mp::get_context(mp::StartMethod::spawn).Process(target);
  p.start();
  if (!p.join(std::chrono::seconds(30))) p.kill();
  p.join();
  std::printf("exit code %d\n", *p.exitcode());
  return 0;
}
