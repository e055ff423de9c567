// runtime/freeze_support.cpp — mp::freeze_support(), alone in its object file: a program links
// it only by calling it, which is how runtime/boot.cpp knows whether main() has the line.
#include "mp/context.hpp"
#include "runtime/boot.hpp"
#include "runtime/spawn_program.hpp"

extern "C" {
extern const char mp_freeze_support_linked;
const char mp_freeze_support_linked = 1;
}

namespace mp {

void freeze_support() {
  const detail::BootEnv env = detail::boot_env();
  switch (env.role) {
    case detail::BootRole::none:
      return;
    case detail::BootRole::spawn_child:
      detail::boot_done();
      detail::run_boot_child(env.fd, 0);
    case detail::BootRole::forkserver:
      detail::boot_done();
      detail::run_forkserver_preload();
      detail::serve_forkserver(env.fd);
  }
}

}  // namespace mp
