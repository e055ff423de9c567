#include "sys/loaded_objects.hpp"

#include <elf.h>
#include <link.h>

#include <cstring>

namespace mp::sys {

namespace {

// The GNU build-id note inside one PT_NOTE segment, if it holds one.
std::string find_build_id(const std::byte* p, std::size_t size) {
  constexpr std::size_t kAlign = 4;
  auto round = [](std::size_t n) { return (n + kAlign - 1) / kAlign * kAlign; };
  std::size_t at = 0;
  while (at + sizeof(ElfW(Nhdr)) <= size) {
    ElfW(Nhdr) note;
    std::memcpy(&note, p + at, sizeof note);
    const std::size_t name_at = at + sizeof note;
    const std::size_t desc_at = name_at + round(note.n_namesz);
    const std::size_t next = desc_at + round(note.n_descsz);
    if (next > size || next <= at) break;
    if (note.n_type == NT_GNU_BUILD_ID && note.n_namesz == 4 &&
        std::memcmp(p + name_at, "GNU", 4) == 0) {
      return std::string(reinterpret_cast<const char*>(p + desc_at), note.n_descsz);
    }
    at = next;
  }
  return {};
}

int collect(dl_phdr_info* info, std::size_t, void* ctx) {
  auto& out = *static_cast<std::vector<LoadedObject>*>(ctx);
  LoadedObject o;
  o.name = info->dlpi_name != nullptr ? info->dlpi_name : "";
  o.base = info->dlpi_addr;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    const std::uintptr_t at = info->dlpi_addr + ph.p_vaddr;
    if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X) != 0) {
      o.code.push_back({at, at + ph.p_memsz});
    } else if (ph.p_type == PT_NOTE && o.build_id.empty()) {
      o.build_id = find_build_id(reinterpret_cast<const std::byte*>(at), ph.p_memsz);
    }
  }
  out.push_back(std::move(o));
  return 0;
}

}  // namespace

std::vector<LoadedObject> loaded_objects() {
  std::vector<LoadedObject> out;
  dl_iterate_phdr(collect, &out);
  return out;
}

}  // namespace mp::sys
