# The library's sources, by layer (see docs/design/architecture.md).
set(MP_SOURCES
  # sys: the OS boundary
  src/sys/fd.cpp
  src/sys/futex.cpp
  src/sys/thread_id.cpp
  src/sys/child.cpp
  src/sys/memory.cpp
  src/sys/socket.cpp
  src/sys/poll.cpp
  src/sys/loaded_objects.cpp
  src/sys/terminal.cpp
  # shm: what lives in shared memory
  src/shm/robust_lock.cpp
  src/shm/biased_lock.cpp
  src/shm/semaphore.cpp
  src/shm/condition.cpp
  src/shm/event.cpp
  src/shm/barrier.cpp
  # runtime: processes, start methods, the codec
  src/runtime/code_ref.cpp
  src/runtime/process.cpp
  src/runtime/child_main.cpp
  src/runtime/exception_info.cpp
  src/runtime/outcome.cpp
  src/runtime/popen_fork.cpp
  src/runtime/popen_spawn.cpp
  src/runtime/popen_forkserver.cpp
  src/runtime/forkserver.cpp
  src/runtime/spawn_program.cpp
  src/runtime/boot.cpp
  src/runtime/freeze_support.cpp
  src/runtime/context.cpp
  src/runtime/codec.cpp
  src/runtime/framing.cpp
  src/runtime/auth.cpp
  src/runtime/resource_tracker.cpp
  src/runtime/logger.cpp
  # ipc: the user-visible shared objects
  src/ipc/segment.cpp
  src/ipc/fd_transfer.cpp
  src/ipc/synchronize.cpp
  src/ipc/sharedctypes.cpp
  src/ipc/shared_memory.cpp
  src/ipc/shared_memory_manager.cpp
  src/ipc/shareable_list.cpp
  src/ipc/connection.cpp
  src/ipc/listener.cpp
  src/ipc/wait.cpp
  src/ipc/message_body.cpp
  src/ipc/queue_core.cpp
  # services: above the IPC layer, what a program asks for by name (pools, managers)
  src/services/pool_core.cpp
  src/services/result_reading.cpp
  src/services/pool_worker.cpp
  src/services/task_feed.cpp
  src/services/progress.cpp
  src/services/manager/objects.cpp
  src/services/manager/server.cpp
  src/services/manager/link.cpp
  src/services/manager/serve.cpp
  src/services/manager/client.cpp
)
