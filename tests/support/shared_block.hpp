// tests/support/shared_block.hpp — a T in anonymous shared memory, seen by every child forked
// afterwards: the state that lock tests share between processes, outside the library.
#pragma once

#include <sys/mman.h>

#include <new>
#include <stdexcept>

namespace mp::testing {

template <class T>
class SharedBlock {
 public:
  SharedBlock() {
    void* p = ::mmap(nullptr, sizeof(T), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::runtime_error("mmap");
    t_ = new (p) T{};
  }
  ~SharedBlock() { ::munmap(t_, sizeof(T)); }
  SharedBlock(const SharedBlock&) = delete;
  SharedBlock& operator=(const SharedBlock&) = delete;
  T* get() const { return t_; }

 private:
  T* t_;
};

}  // namespace mp::testing
