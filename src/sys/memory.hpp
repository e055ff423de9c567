// sys/memory.hpp — shared memory mappings: anonymous (memfd) and named (POSIX shm).
// Errors are returned as errno values; nothing here throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "sys/fd.hpp"

namespace mp::sys {

struct Mapping {
  UniqueFd fd;  // kept so that the memory can later be passed to another process (SCM_RIGHTS)
  void* addr = nullptr;
  std::size_t size = 0;
};

// Zero-filled memory shared with every process forked afterwards. It has no name: nothing
// appears in /dev/shm, and the kernel frees it when the last mapping and descriptor go.
// Every shared object holds a descriptor, and the usual soft limit of 1024 would cap a program
// at about a thousand locks and values: when the limit is reached, the soft limit is raised to
// the hard one (as Go's runtime does for the same reason) and the call retried.
int map_anonymous(std::size_t size, Mapping& out) noexcept;
// Zero-filled memory of this process alone (no descriptor), for a buffer that may grow.
int map_private(std::size_t size, Mapping& out) noexcept;
// Grows or shrinks memory from map_anonymous or map_private to `size` bytes, its contents kept;
// the mapping may move (m.addr changes), its pages are not copied. New pages take memory only
// once written.
int resize_anonymous(Mapping& m, std::size_t size) noexcept;

// Raises the soft RLIMIT_NOFILE to the hard limit; false if it already was there.
bool raise_fd_limit() noexcept;

// POSIX shared memory under /dev/shm. `name` starts with '/'.
int map_named_create(const std::string& name, std::size_t size, Mapping& out) noexcept;
int map_named_attach(const std::string& name, Mapping& out) noexcept;
int unlink_named(const std::string& name) noexcept;

// As map_anonymous, for memory shared with a process that must be able to trust its size: the
// memfd is sealed so that it can neither shrink nor grow (a peer that shrank memory another
// process has mapped would make that process's next access fault, SIGBUS).
int map_sealed(std::size_t size, Mapping& out) noexcept;
// 0 when the memory file behind `fd` cannot shrink (a memfd sealed so); EPERM when it can,
// EINVAL when it is not a memfd.
int check_sealed(int fd) noexcept;

// Maps, whole and shared, the memory file behind `fd`, which another process passed over a
// socket; `fd` is borrowed (a duplicate is kept in `out`). EINVAL when it is not a regular file
// (a memfd or a /dev/shm file) or is empty.
int map_passed(int fd, Mapping& out) noexcept;

void unmap(Mapping& m) noexcept;

// What fstat says of the file behind `fd`: its identity (device and inode) and size.
struct FileInfo {
  std::uint64_t dev = 0;
  std::uint64_t ino = 0;
  std::uint64_t size = 0;
};
int file_info(int fd, FileInfo& out) noexcept;

// Maps the first `size` bytes of the memory file behind `fd` (borrowed: the mapping outlives
// it), shared and writable; `populate` fills the page tables at once instead of fault by fault.
int map_file(int fd, std::size_t size, bool populate, void*& addr) noexcept;
void unmap_file(void* addr, std::size_t size) noexcept;
// Gives back the whole pages in [addr, addr + size) (MADV_DONTNEED): they leave this process's
// resident set. A shared file mapping keeps their contents in the file (the next access maps
// them again); private memory loses them (it reads as zeros): only for bytes never read again.
void release_pages(const void* addr, std::size_t size) noexcept;
// Maps in the pages of [addr, addr + size) of a shared file mapping at once (MADV_POPULATE_READ),
// rather than fault by fault. A hint: nothing happens on kernels before 5.14.
void populate_pages(const void* addr, std::size_t size) noexcept;

// Asks for transparent huge pages under the 2 MiB-aligned part of [addr, addr + size) of
// private memory not yet written: its first writes then fault in 2 MiB at a time. A hint: does
// nothing where the kernel's THP setting is "never".
void advise_huge_pages(void* addr, std::size_t size) noexcept;

// Cryptographically random bytes (OpenSSL), for names nobody can guess.
bool random_bytes(void* out, std::size_t size) noexcept;
// `bytes` random bytes as lowercase hex digits; empty when no random bytes could be had.
std::string random_hex(std::size_t bytes);

}  // namespace mp::sys
