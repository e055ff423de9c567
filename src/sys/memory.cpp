#include "sys/memory.hpp"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace mp::sys {

namespace {
int map_fd(UniqueFd fd, std::size_t size, Mapping& out) noexcept {
  void* addr =
      ::mmap(nullptr, size == 0 ? 1 : size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  if (addr == MAP_FAILED) return errno;
  out.fd = std::move(fd);
  out.addr = addr;
  out.size = size;
  return 0;
}
}  // namespace

void advise_huge_pages(void* addr, std::size_t size) noexcept {
  constexpr std::uintptr_t kHuge = std::uintptr_t{2} << 20;
  const auto begin = (reinterpret_cast<std::uintptr_t>(addr) + kHuge - 1) & ~(kHuge - 1);
  const auto end = (reinterpret_cast<std::uintptr_t>(addr) + size) & ~(kHuge - 1);
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
}

bool raise_fd_limit() noexcept {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= lim.rlim_max) return false;
  lim.rlim_cur = lim.rlim_max;
  return ::setrlimit(RLIMIT_NOFILE, &lim) == 0;
}

int map_anonymous(std::size_t size, Mapping& out) noexcept {
  UniqueFd fd(::memfd_create("mp", MFD_CLOEXEC));
  if (!fd && errno == EMFILE && raise_fd_limit()) fd.reset(::memfd_create("mp", MFD_CLOEXEC));
  if (!fd) return errno;
  if (::ftruncate(fd.get(), static_cast<off_t>(size == 0 ? 1 : size)) != 0) return errno;
  return map_fd(std::move(fd), size, out);
}

int map_private(std::size_t size, Mapping& out) noexcept {
  void* addr = ::mmap(nullptr, size == 0 ? 1 : size, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (addr == MAP_FAILED) return errno;
  out.fd.reset();
  out.addr = addr;
  out.size = size;
  return 0;
}

int resize_anonymous(Mapping& m, std::size_t size) noexcept {
  if (size == 0) size = 1;
  if (m.fd && ::ftruncate(m.fd.get(), static_cast<off_t>(size)) != 0) return errno;
  const std::size_t old = m.size == 0 ? 1 : m.size;
  void* addr = ::mremap(m.addr, old, size, MREMAP_MAYMOVE);
  if (addr == MAP_FAILED) return errno;
  m.addr = addr;
  m.size = size;
  return 0;
}

int file_info(int fd, FileInfo& out) noexcept {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return errno;
  out.dev = static_cast<std::uint64_t>(st.st_dev);
  out.ino = static_cast<std::uint64_t>(st.st_ino);
  out.size = st.st_size < 0 ? 0 : static_cast<std::uint64_t>(st.st_size);
  return 0;
}

int map_file(int fd, std::size_t size, bool populate, void*& addr) noexcept {
  const int flags = MAP_SHARED | (populate ? MAP_POPULATE : 0);
  void* m = ::mmap(nullptr, size == 0 ? 1 : size, PROT_READ | PROT_WRITE, flags, fd, 0);
  if (m == MAP_FAILED) return errno;
  addr = m;
  return 0;
}

void unmap_file(void* addr, std::size_t size) noexcept {
  if (addr != nullptr) ::munmap(addr, size == 0 ? 1 : size);
}

void release_pages(const void* addr, std::size_t size) noexcept {
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = (reinterpret_cast<std::uintptr_t>(addr) + page - 1) & ~(page - 1);
  const auto end = (reinterpret_cast<std::uintptr_t>(addr) + size) & ~(page - 1);
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

void populate_pages(const void* addr, std::size_t size) noexcept {
#ifdef MADV_POPULATE_READ
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<std::uintptr_t>(addr) & ~(page - 1);
  const auto end = reinterpret_cast<std::uintptr_t>(addr) + size;
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_READ);
#else
  (void)addr;
  (void)size;
#endif
}

int map_named_create(const std::string& name, std::size_t size, Mapping& out) noexcept {
  UniqueFd fd(::shm_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600));
  if (!fd) return errno;
  if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) {
    int err = errno;
    ::shm_unlink(name.c_str());
    return err;
  }
  int err = map_fd(std::move(fd), size, out);
  if (err != 0) ::shm_unlink(name.c_str());
  return err;
}

int map_named_attach(const std::string& name, Mapping& out) noexcept {
  UniqueFd fd(::shm_open(name.c_str(), O_RDWR | O_CLOEXEC, 0));
  if (!fd) return errno;
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return errno;
  return map_fd(std::move(fd), static_cast<std::size_t>(st.st_size), out);
}

int map_passed(int fd, Mapping& out) noexcept {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return errno;
  if (!S_ISREG(st.st_mode) || st.st_size <= 0) return EINVAL;
  UniqueFd own(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
  if (!own && errno == EMFILE && raise_fd_limit()) own.reset(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
  if (!own) return errno;
  return map_fd(std::move(own), static_cast<std::size_t>(st.st_size), out);
}

int unlink_named(const std::string& name) noexcept {
  return ::shm_unlink(name.c_str()) == 0 ? 0 : errno;
}

int map_sealed(std::size_t size, Mapping& out) noexcept {
  UniqueFd fd(::memfd_create("mp", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd && errno == EMFILE && raise_fd_limit()) {
    fd.reset(::memfd_create("mp", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  }
  if (!fd) return errno;
  if (::ftruncate(fd.get(), static_cast<off_t>(size == 0 ? 1 : size)) != 0) return errno;
  if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) return errno;
  return map_fd(std::move(fd), size, out);
}

int check_sealed(int fd) noexcept {
  const int seals = ::fcntl(fd, F_GET_SEALS);
  if (seals < 0) return EINVAL;
  return (seals & F_SEAL_SHRINK) != 0 ? 0 : EPERM;
}

void unmap(Mapping& m) noexcept {
  if (m.addr != nullptr) ::munmap(m.addr, m.size == 0 ? 1 : m.size);
  m.addr = nullptr;
  m.size = 0;
  m.fd.reset();
}

bool random_bytes(void* out, std::size_t size) noexcept {
  return RAND_bytes(static_cast<unsigned char*>(out), static_cast<int>(size)) == 1;
}

std::string random_hex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  if (!random_bytes(raw.data(), raw.size())) return {};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * bytes);
  for (unsigned char b : raw) {
    out += kHex[b >> 4];
    out += kHex[b & 0xf];
  }
  return out;
}

}  // namespace mp::sys
