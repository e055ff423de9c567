// sys/loaded_objects.hpp — the ELF objects mapped into this process (the executable, shared
// libraries): where each is loaded, which build it is, and where its code lies.
// Nothing here throws or allocates after the table is built.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mp::sys {

struct CodeRange {
  std::uintptr_t begin = 0;  // absolute addresses, [begin, end)
  std::uintptr_t end = 0;
};

struct LoadedObject {
  std::string name;             // "" for the main executable, as the dynamic loader says
  std::uintptr_t base = 0;      // load bias: an address minus base is the same in every process
  std::string build_id;         // the GNU build-id note, as bytes; empty if the object has none
  std::vector<CodeRange> code;  // its executable PT_LOAD segments
};

// Reads the loader's list of objects (dl_iterate_phdr). Objects without a build-id note get
// none; the caller decides what stands in for it.
std::vector<LoadedObject> loaded_objects();

}  // namespace mp::sys
