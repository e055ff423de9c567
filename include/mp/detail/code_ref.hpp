// mp/detail/code_ref.hpp — how code is named when a call crosses a process boundary.
//
// A function travels as (build, offset): the first 8 bytes of the GNU build id of the ELF object
// (executable or shared library) that contains it, and its distance from that object's load
// address. Any process that has the same build loaded finds the same function, wherever ASLR put
// it: a forked copy, a re-executed program (spawn, forkserver), another program that loads the
// same library. The receiver refuses a build it does not have, with a ProcessError that names
// both builds, and refuses an offset outside that object's code: it never calls an address it
// has not resolved. See docs/design/code_identity.md.
#pragma once

#include <cstdint>
#include <type_traits>

namespace mp::detail {

struct CodeRef {
  std::uint64_t build = 0;   // the object's build id, first 8 bytes (little-endian)
  std::uint64_t offset = 0;  // from the object's load bias

  template <class Archive>
  void serialize(Archive& ar) {
    ar(build, offset);
  }
  friend bool operator==(const CodeRef&, const CodeRef&) = default;
};

// Names the code at `address`. Throws ProcessError if no loaded object's code contains it.
CodeRef code_ref(const void* address);

// The address `ref` names in this process. Throws ProcessError when this process has no object
// of that build, or when the offset falls outside that object's code.
const void* resolve_code(const CodeRef& ref);

template <class Fn>
requires std::is_function_v<Fn> CodeRef code_ref_of(Fn* f) {
  return code_ref(reinterpret_cast<const void*>(f));
}

template <class Fn>
requires std::is_function_v<Fn> Fn* resolve_function(const CodeRef& ref) {
  return reinterpret_cast<Fn*>(const_cast<void*>(resolve_code(ref)));
}

// The build of the main executable, as a CodeRef's `build` field holds it.
std::uint64_t executable_build() noexcept;

}  // namespace mp::detail
