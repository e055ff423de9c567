# clang++ beside the main g++ build, for the programs that need it: the libFuzzer targets (fuzz/)
# and the cross-compiler test (tests/cross_compiler). Sets MP_CLANGXX (empty when there is none)
# and MP_CLANG_CEREAL_FLAGS, the include flags clang++ needs for cereal.
include_guard(GLOBAL)
find_program(MP_CLANGXX NAMES clang++ clang++-14)
get_target_property(mp_cereal_includes cereal::cereal INTERFACE_INCLUDE_DIRECTORIES)
set(MP_CLANG_CEREAL_FLAGS "")
if(NOT mp_cereal_includes STREQUAL "/usr/include")  # naming a system directory again breaks libc++'s include_next
  set(MP_CLANG_CEREAL_FLAGS -isystem ${mp_cereal_includes})
endif()
