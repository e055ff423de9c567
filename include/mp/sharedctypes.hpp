// mp/sharedctypes.hpp — values and arrays in shared memory, as Python's Value, RawValue, Array
// and RawArray (multiprocessing.sharedctypes).
//
//   mp::Value<int> counter(0);
//   mp::Process p([counter]() mutable {
//     std::lock_guard g(counter.get_lock());
//     counter.value() += 1;
//   });
//   p.start(); p.join();
//   counter.fetch_add(1);            // or lock-free, for arithmetic types
//
// T must be trivially copyable: the bytes live in shared memory and are read by other
// processes, where pointers and owned resources would be meaningless. Value and Array carry an
// RLock (get_lock()), their own or one given to share (`mp::Value<int> a(0, lock)`, Python's
// lock=lock); the Raw forms do not. All are handles: copies and children share the
// storage, which lives in anonymous shared memory (never in /dev/shm) until the last handle in
// the last process is gone.
//
// Differences from Python: `value()` returns a reference, and is not itself locked: `v.value() +=
// 1` is a read-modify-write with no lock (Python's `v.value += 1` is not atomic either). Use
// get_lock() around it, or the atomic operations.
//
// Passing to another process: besides being inherited by fork, all four can be sent over a
// Connection or passed as an argument of a starting Process, to any process: the receiver maps
// the same memory (the descriptor travels with SCM_RIGHTS, see detail/fd_transfer.hpp). They
// cannot be put on a Queue (ValueError), as in Python.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <initializer_list>
#include <memory>
#include <new>
#include <ranges>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "mp/detail/fd_transfer.hpp"
#include "mp/detail/segment.hpp"
#include "mp/synchronize.hpp"

namespace mp {

// What can live in shared memory.
template <class T>
concept Shareable = std::is_trivially_copyable_v<T> && !std::is_reference_v<T>;

template <class T>
class RawArray;

namespace detail {

inline constexpr std::size_t kLockStateSize = 16;  // sizeof(shm::LockState), checked in the .cpp

template <class T>
constexpr std::size_t payload_alignment() {
  std::size_t align = alignof(T);
  if constexpr (std::is_arithmetic_v<T>)
    align = std::max(align, std::atomic_ref<T>::required_alignment);
  return align;
}

template <class T>
constexpr std::size_t payload_offset(bool with_lock) {
  const std::size_t align = payload_alignment<T>();
  std::size_t start = with_lock ? kLockStateSize : 0;
  return (start + align - 1) / align * align;
}

// The lock at the start of a Value's or Array's segment: constructed there, or (lock_in) one
// that another process constructed, in a segment received from it.
SharedRef<shm::LockState> lock_at_start(const std::shared_ptr<Segment>& segment) noexcept;
SharedRef<shm::LockState> lock_in(const std::shared_ptr<Segment>& segment) noexcept;

// On the wire, a Value or Array first says whether its lock lies in its own memory; a lock given
// to share follows its memory (the archives are defined in the library, not here).
void save_lock_kind(OutputArchive& ar, bool own);
bool load_lock_kind(InputArchive& ar);
void save_given_lock(OutputArchive& ar, const RLock& lock);
void load_given_lock(InputArchive& ar, RLock& into);

template <class T>
T* construct_payload(const std::shared_ptr<Segment>& segment, std::size_t offset, std::size_t n) {
  T* p = reinterpret_cast<T*>(segment->data() + offset);
  std::uninitialized_value_construct_n(p, n);
  return p;
}

}  // namespace detail

#define MP_SHAREABLE_ASSERT(T)                                                                  \
  static_assert(::mp::Shareable<T>,                                                             \
                "mp: shared values need a trivially copyable T: they live in shared memory as " \
                "plain bytes, where pointers and owned resources (std::string, std::vector) "   \
                "mean nothing to another process; send such types through a Queue or Pipe")

template <class T>
class RawValue {
  MP_SHAREABLE_ASSERT(T);

 public:
  RawValue() : RawValue(T{}) {}
  explicit RawValue(const T& init) : RawValue(init, false) {}

  T& value() const noexcept { return *ptr_; }

  // Atomic operations (std::atomic_ref), for arithmetic T.
  T load() const noexcept requires std::is_arithmetic_v<T> {
    return std::atomic_ref<T>(*ptr_).load();
  }
  void store(T v) const noexcept requires std::is_arithmetic_v<T> {
    std::atomic_ref<T>(*ptr_).store(v);
  }
  T fetch_add(T d) const noexcept requires std::is_arithmetic_v<T> &&(!std::is_same_v<T, bool>) {
    return std::atomic_ref<T>(*ptr_).fetch_add(d);
  }
  T fetch_sub(T d) const noexcept requires std::is_arithmetic_v<T> &&(!std::is_same_v<T, bool>) {
    return std::atomic_ref<T>(*ptr_).fetch_sub(d);
  }
  bool compare_exchange(T& expected, T desired) const noexcept requires std::is_arithmetic_v<T> {
    return std::atomic_ref<T>(*ptr_).compare_exchange_strong(expected, desired);
  }

 protected:
  RawValue(const T& init, bool with_lock)
      : segment_(detail::Segment::create(detail::payload_offset<T>(with_lock) + sizeof(T))),
        ptr_(detail::construct_payload<T>(segment_, detail::payload_offset<T>(with_lock), 1)) {
    *ptr_ = init;
  }
  void save_as(detail::OutputArchive& ar, const char* type) const {
    detail::save_shared(ar, segment_, ptr_, sizeof(T), type);
  }
  void load_from(detail::InputArchive& ar, bool with_lock) {
    auto p = detail::load_shared(ar, detail::payload_alignment<T>(), sizeof(T),
                                 detail::payload_offset<T>(with_lock));
    if (p.size != sizeof(T)) detail::throw_wrong_state_size();
    segment_ = std::move(p.segment);
    ptr_ = reinterpret_cast<T*>(p.at);
  }
  std::shared_ptr<detail::Segment> segment_;
  T* ptr_;

 private:
  // Encoding (detail/fd_transfer.hpp). Named serialize, not save and load: load() is taken.
  friend class cereal::access;
  void serialize(detail::OutputArchive& ar) { save_as(ar, "mp::RawValue"); }
  void serialize(detail::InputArchive& ar) { load_from(ar, false); }
};

template <class T>
class Value : public RawValue<T> {
 public:
  Value() : Value(T{}) {}
  explicit Value(const T& init)
      : RawValue<T>(init, true), lock_(detail::lock_at_start(this->segment_)) {}
  // Guarded by `lock`, which other Values and Arrays may share (Python's Value(..., lock=lock)).
  Value(const T& init, RLock lock)
      : RawValue<T>(init, false), lock_(std::move(lock)), own_(false) {}

  // The lock that guards compound updates of value().
  RLock& get_lock() noexcept { return lock_; }

 private:
  friend class cereal::access;
  void serialize(detail::OutputArchive& ar) {
    detail::save_lock_kind(ar, own_);
    this->save_as(ar, "mp::Value");
    if (!own_) detail::save_given_lock(ar, lock_);
  }
  void serialize(detail::InputArchive& ar) {
    own_ = detail::load_lock_kind(ar);
    this->load_from(ar, own_);
    if (own_) {
      lock_ = RLock(detail::lock_in(this->segment_));
    } else {
      detail::load_given_lock(ar, lock_);
    }
  }
  RLock lock_;
  bool own_ = true;  // the lock lies in this Value's memory
};

namespace detail {
// A range to copy from, not another array handle (whose copy must share, not copy).
template <class R, class T>
concept ArraySource =
    std::ranges::sized_range<R> && std::convertible_to<std::ranges::range_reference_t<R>, T> &&
    !std::is_base_of_v<RawArray<T>, std::remove_cvref_t<R>>;
}  // namespace detail

template <class T>
class RawArray {
  MP_SHAREABLE_ASSERT(T);

 public:
  using value_type = T;
  using iterator = T*;
  using const_iterator = const T*;

  RawArray() : RawArray(0) {}  // empty: what a received array is decoded into
  explicit RawArray(std::size_t n) : RawArray(n, false) {}
  RawArray(std::initializer_list<T> init) : RawArray(init, false) {}
  template <detail::ArraySource<T> R>
  explicit RawArray(R&& init) : RawArray(std::forward<R>(init), false) {}

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  T& operator[](std::size_t i) const noexcept { return data_[i]; }
  T& at(std::size_t i) const {
    if (i >= size_)
      throw std::out_of_range("mp::Array index " + std::to_string(i) + " out of range");
    return data_[i];
  }
  T* data() const noexcept { return data_; }
  T* begin() const noexcept { return data_; }
  T* end() const noexcept { return data_ + size_; }
  std::span<T> span() const noexcept { return {data_, size_}; }

 protected:
  RawArray(std::size_t n, bool with_lock)
      : segment_(detail::Segment::create(detail::payload_offset<T>(with_lock) + n * sizeof(T))),
        data_(detail::construct_payload<T>(segment_, detail::payload_offset<T>(with_lock), n)),
        size_(n) {}
  template <detail::ArraySource<T> R>
  RawArray(R&& init, bool with_lock) : RawArray(std::ranges::size(init), with_lock) {
    std::ranges::copy(init, data_);
  }
  void save_as(detail::OutputArchive& ar, const char* type) const {
    detail::save_shared(ar, segment_, data_, size_ * sizeof(T), type);
  }
  void load_from(detail::InputArchive& ar, bool with_lock) {
    auto p = detail::load_shared(ar, detail::payload_alignment<T>(), sizeof(T),
                                 detail::payload_offset<T>(with_lock));
    segment_ = std::move(p.segment);
    data_ = reinterpret_cast<T*>(p.at);
    size_ = p.size / sizeof(T);
  }
  std::shared_ptr<detail::Segment> segment_;
  T* data_;
  std::size_t size_;

 private:
  friend class cereal::access;  // as RawValue's
  void serialize(detail::OutputArchive& ar) { save_as(ar, "mp::RawArray"); }
  void serialize(detail::InputArchive& ar) { load_from(ar, false); }
};

template <class T>
class Array : public RawArray<T> {
 public:
  Array() : Array(std::size_t{0}) {}  // empty: what a received array is decoded into
  explicit Array(std::size_t n)
      : RawArray<T>(n, true), lock_(detail::lock_at_start(this->segment_)) {}
  Array(std::initializer_list<T> init)
      : RawArray<T>(init, true), lock_(detail::lock_at_start(this->segment_)) {}
  template <detail::ArraySource<T> R>
  explicit Array(R&& init)
      : RawArray<T>(std::forward<R>(init), true), lock_(detail::lock_at_start(this->segment_)) {}
  // Guarded by `lock`, which other Values and Arrays may share (Python's Array(..., lock=lock)).
  Array(std::size_t n, RLock lock) : RawArray<T>(n, false), lock_(std::move(lock)), own_(false) {}
  Array(std::initializer_list<T> init, RLock lock)
      : RawArray<T>(init, false), lock_(std::move(lock)), own_(false) {}
  template <detail::ArraySource<T> R>
  Array(R&& init, RLock lock)
      : RawArray<T>(std::forward<R>(init), false), lock_(std::move(lock)), own_(false) {}

  RLock& get_lock() noexcept { return lock_; }

 private:
  friend class cereal::access;
  void serialize(detail::OutputArchive& ar) {
    detail::save_lock_kind(ar, own_);
    this->save_as(ar, "mp::Array");
    if (!own_) detail::save_given_lock(ar, lock_);
  }
  void serialize(detail::InputArchive& ar) {
    own_ = detail::load_lock_kind(ar);
    this->load_from(ar, own_);
    if (own_) {
      lock_ = RLock(detail::lock_in(this->segment_));
    } else {
      detail::load_given_lock(ar, lock_);
    }
  }
  RLock lock_;
  bool own_ = true;  // the lock lies in this Array's memory
};

#undef MP_SHAREABLE_ASSERT

}  // namespace mp
