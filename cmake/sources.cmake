# The library's sources, by layer (see docs/design/architecture.md).
set(MP_SOURCES
  # sys: the OS boundary
  src/sys/fd.cpp
  src/sys/futex.cpp
  src/sys/thread_id.cpp
  src/sys/child.cpp
  # runtime: processes, start methods, the codec
  src/runtime/process.cpp
  src/runtime/child_main.cpp
  src/runtime/popen_fork.cpp
  src/runtime/context.cpp
  src/runtime/codec.cpp
)
