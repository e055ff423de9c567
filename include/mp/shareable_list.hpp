// mp/shareable_list.hpp — a fixed-length list in a named shared memory block, as Python's
// multiprocessing.shared_memory.ShareableList.
//
//   mp::ShareableList sl{1, 2, 3};                              // a new block, named at random
//   sl[0] = 10;
//   for (int x : sl) std::cout << x;                            // ShareableList<std::string>
//   mp::ShareableList words{"howdy", "hello"};                  // from string literals
//   // in another process, even one not started by this one (and built by another compiler):
//   auto same = mp::ShareableList<long>::attach(sl.name());     // TypeError if not of long
//
// T is a trivially copyable type that holds no address (each element is stored as its bytes, and
// `sl[i]` is a reference into the block), or std::string: each string slot keeps the capacity
// of its first value, rounded up to 8 bytes (at least 8), and assigning a longer string throws
// ValueError, as in Python. The length is fixed at creation.
//
// As in Python, access is not synchronized: guard concurrent writers with an mp::Lock. The block
// follows mp::SharedMemory's ownership (the creating process unlinks it when its last handle
// goes; sl.shm().close() and sl.shm().unlink() act on the list's own handle, as in Python, and
// a list whose block was closed throws ValueError on access), and a list can be passed to another
// process like a SharedMemory (as a Process argument, over a Connection). Differences from Python:
// one element type per list, checked by attach(); no None or bytes elements.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <iosfwd>
#include <ranges>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "mp/detail/archive.hpp"
#include "mp/detail/type_name.hpp"
#include "mp/errors.hpp"
#include "mp/shared_memory.hpp"

namespace cereal {
class access;
}

namespace mp {

namespace detail {

// The layout of a list's block, written once by its creator and checked by every process that
// maps it: a header (magic, element tag and name, count), then either `count` elements of a
// fixed size, or `count` string slots and their bytes.
class ListBlock {
 public:
  struct Slot {  // a string slot
    std::uint64_t offset;
    std::uint32_t capacity;
    std::uint32_t length;  // written by any process: checked against capacity on each read
  };
  struct Element {
    std::uint64_t tag;
    std::string name;  // for error messages
    std::size_t size;  // 0: strings
    std::size_t align;
  };

  ListBlock() = default;
  // A moved-from block is an empty one with no name, not a view of the mapping it gave away.
  ListBlock(const ListBlock&) = default;
  ListBlock& operator=(const ListBlock&) = default;
  ListBlock(ListBlock&& other)
      : shm_(std::exchange(other.shm_, SharedMemory())),
        count_(std::exchange(other.count_, 0)),
        offset_(std::exchange(other.offset_, 0)) {}
  ListBlock& operator=(ListBlock&& other) {
    shm_ = std::exchange(other.shm_, SharedMemory());
    count_ = std::exchange(other.count_, 0);
    offset_ = std::exchange(other.offset_, 0);
    return *this;
  }
  // A new block for `count` elements (fixed size), or for strings of these `lengths`.
  static ListBlock create(const Element& e, std::size_t count, std::string name);
  static ListBlock create_strings(const Element& e, const std::vector<std::size_t>& lengths,
                                  std::string name);
  // A block made by create() for the same element type: ValueError when it holds no list (or a
  // malformed one), TypeError when its elements are of another type.
  static ListBlock adopt(SharedMemory shm, const Element& e);

  std::size_t size() const noexcept { return count_; }
  // The elements (or the slot table): ValueError when the block was closed (sl.shm().close()).
  std::byte* data() const { return shm_.buf().data() + offset_; }
  // Slot i's bytes, the length checked (another process may have written it).
  std::string_view text(std::size_t i) const;
  void assign(std::size_t i, std::string_view s) const;  // ValueError when longer than the slot
  void check_index(std::size_t i) const;                 // std::out_of_range
  const SharedMemory& shm() const noexcept { return shm_; }

 private:
  Slot* slots() const { return reinterpret_cast<Slot*>(data()); }
  // Slot i, copied, its bytes checked to lie in the block.
  Slot checked_slot(std::size_t i) const;

  SharedMemory shm_;
  std::size_t count_ = 0;
  std::size_t offset_ = 0;  // of the elements or the slot table in the block
};

std::ostream& write_to(std::ostream& os, std::string_view s);  // without <ostream> here

// std::string, or bytes that mean the same in another process: no pointer, no view
// (std::string_view), no struct holding one.
template <class T>
concept ShareableElement = std::same_as<T, std::string> ||
    (std::is_trivially_copyable_v<T>&& address_free<T> && !std::is_member_pointer_v<T>);

}  // namespace detail

template <detail::ShareableElement T>
class ShareableList {
  static constexpr bool kStrings = std::same_as<T, std::string>;

 public:
  // sl[i] of a string list: reads and assigns the slot in the block.
  class StringRef {
   public:
    operator std::string() const { return std::string(block_->text(i_)); }
    std::string get() const { return *this; }
    const StringRef& operator=(std::string_view s) const {
      block_->assign(i_, s);
      return *this;
    }
    const StringRef& operator=(const StringRef& other) const { return *this = other.view(); }
    bool operator==(std::string_view s) const { return view() == s; }
    bool operator==(const StringRef& other) const { return view() == other.view(); }
    std::string_view view() const { return block_->text(i_); }
    // As a Python program would write them: sl[i] + "!", sl[i] + sl[j], std::cout << sl[i].
    friend std::string operator+(const StringRef& r, std::string_view s) {
      std::string out(r.view());
      out += s;
      return out;
    }
    friend std::string operator+(std::string_view s, const StringRef& r) {
      std::string out(s);
      out += r.view();
      return out;
    }
    friend std::string operator+(const StringRef& a, const StringRef& b) { return a + b.view(); }
    friend std::ostream& operator<<(std::ostream& os, const StringRef& r) {
      return detail::write_to(os, r.view());
    }

   private:
    friend class ShareableList;
    StringRef(const detail::ListBlock* block, std::size_t i) : block_(block), i_(i) {}
    const detail::ListBlock* block_;
    std::size_t i_;
  };
  using reference = std::conditional_t<kStrings, StringRef, T&>;
  using value_type = T;

  // Walks the list by index (for (auto x : sl), as Python's for x in sl); *it is sl[i].
  class iterator {
   public:
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    reference operator*() const { return (*list_)[i_]; }
    iterator& operator++() {
      ++i_;
      return *this;
    }
    iterator operator++(int) {
      iterator before = *this;
      ++i_;
      return before;
    }
    bool operator==(const iterator& other) const { return i_ == other.i_; }

   private:
    friend class ShareableList;
    iterator(const ShareableList* list, std::size_t i) : list_(list), i_(i) {}
    const ShareableList* list_ = nullptr;
    std::size_t i_ = 0;
  };

  // An empty list with no block: what a received list is decoded into.
  ShareableList() = default;

  // A new list holding `values`, in a block named `name` (empty: a random name). Throws like
  // SharedMemory::create.
  ShareableList(std::initializer_list<T> values, std::string name = {})
      : ShareableList(std::vector<T>(values), std::move(name)) {}
  // (Not from another ShareableList: ShareableList<T> b(a) is a copy, a handle to a's block.)
  template <std::ranges::input_range R>
  requires std::convertible_to<std::ranges::range_reference_t<R>, T> &&
      (!std::same_as<std::remove_cvref_t<R>, ShareableList>)explicit ShareableList(
          R&& values, std::string name = {}) {
    std::vector<T> all;
    for (auto&& v : values) all.push_back(static_cast<T>(v));
    if constexpr (kStrings) {
      std::vector<std::size_t> lengths;
      for (const auto& s : all) lengths.push_back(s.size());
      block_ = detail::ListBlock::create_strings(element(), lengths, std::move(name));
      for (std::size_t i = 0; i < all.size(); ++i) block_.assign(i, all[i]);
    } else {
      block_ = detail::ListBlock::create(element(), all.size(), std::move(name));
      if (!all.empty()) std::memcpy(block_.data(), all.data(), all.size() * sizeof(T));
    }
  }

  // The list in the block `name` made by another ShareableList<T>. Throws std::system_error
  // (ENOENT) when there is no such block, ValueError when it holds no list, TypeError (naming
  // both types) when its elements are not T.
  static ShareableList attach(std::string name) {
    return ShareableList(
        detail::ListBlock::adopt(SharedMemory::attach(std::move(name)), element()));
  }

  std::size_t size() const noexcept { return block_.size(); }
  bool empty() const noexcept { return size() == 0; }
  iterator begin() const { return iterator(this, 0); }
  iterator end() const { return iterator(this, size()); }

  // Unchecked, as std::vector's; at() throws std::out_of_range. Both throw ValueError when the
  // block was closed.
  reference operator[](std::size_t i) const {
    if constexpr (kStrings) {
      return StringRef(&block_, i);
    } else {
      return reinterpret_cast<T*>(block_.data())[i];
    }
  }
  reference at(std::size_t i) const {
    block_.check_index(i);
    return (*this)[i];
  }

  // How many elements equal `value`; where the first is (ValueError when none is).
  std::size_t count(const T& value) const {
    std::size_t n = 0;
    for (std::size_t i = 0; i < size(); ++i) n += equal(i, value);
    return n;
  }
  std::size_t index(const T& value) const {
    for (std::size_t i = 0; i < size(); ++i) {
      if (equal(i, value)) return i;
    }
    throw ValueError("the value is not in the ShareableList");
  }

  // A copy of the elements (Python's list(sl)).
  std::vector<T> to_vector() const {
    std::vector<T> out;
    out.reserve(size());
    for (std::size_t i = 0; i < size(); ++i) out.push_back(T((*this)[i]));
    return out;
  }

  // A handle to the list's block: its close() and unlink() are the list's (Python's sl.shm).
  SharedMemory shm() const noexcept { return block_.shm(); }
  const std::string& name() const noexcept { return block_.shm().name(); }

 private:
  friend class cereal::access;
  explicit ShareableList(detail::ListBlock block) : block_(std::move(block)) {}

  static detail::ListBlock::Element element() {
    if constexpr (kStrings) {
      return {detail::type_tag<T>(), detail::type_name<T>(), 0, 1};
    } else {
      return {detail::type_tag<T>(), detail::type_name<T>(), sizeof(T), alignof(T)};
    }
  }
  bool equal(std::size_t i, const T& value) const {
    if constexpr (kStrings) {
      return block_.text(i) == value;
    } else if constexpr (std::equality_comparable<T>) {
      return (*this)[i] == value;
    } else {
      return std::memcmp(&(*this)[i], &value, sizeof(T)) == 0;
    }
  }

  template <class Archive>
  void save(Archive& ar) const {
    ar(block_.shm());
  }
  template <class Archive>
  void load(Archive& ar) {
    SharedMemory shm;
    ar(shm);
    block_ = detail::ListBlock::adopt(std::move(shm), element());
  }

  detail::ListBlock block_;
};

// mp::ShareableList words{"howdy", "hello"} holds strings, as Python's ShareableList(['howdy',
// 'hello']) does; a list built from a range holds the range's values.
ShareableList(std::initializer_list<const char*>, std::string = {})->ShareableList<std::string>;
template <std::ranges::input_range R>
ShareableList(R&&, std::string = {}) -> ShareableList<std::ranges::range_value_t<R>>;

}  // namespace mp
