// services/manager/objects.hpp — what a manager's server keeps: objects of a fixed set of kinds
// holding codec messages (bytes with their type's tag), never values of the client's types.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "mp/detail/manager_protocol.hpp"

namespace mp::detail::manager {

// A dict of messages in insertion order, as Python's: entries in order (an erased one leaves a
// hole until the next compaction) and an index from key to position. Keys compare as bytes,
// which for one key type is equality of values (the codec writes a value one way only).
class OrderedBytesDict {
 public:
  Bytes* find(const Bytes& k);
  void set(const Bytes& k, Bytes v);
  std::optional<Bytes> erase(const Bytes& k);
  std::optional<std::pair<Bytes, Bytes>> pop_last();
  std::size_t size() const { return index_.size(); }
  void clear();
  template <class F>
  void for_each(F&& f) const {
    for (const auto& s : slots_) {
      if (s) f(s->first, s->second);
    }
  }

 private:
  void compact();
  std::vector<std::optional<std::pair<Bytes, Bytes>>> slots_;
  // By size, then bytes: a total order, cheaper than lexicographic for unequal sizes.
  struct Less {
    bool operator()(const Bytes& a, const Bytes& b) const noexcept {
      if (a.size() != b.size()) return a.size() < b.size();
      return !a.empty() && std::memcmp(a.data(), b.data(), a.size()) < 0;
    }
  };
  std::map<Bytes, std::size_t, Less> index_;
};

// Who holds a lock: a thread of a client process.
struct Owner {
  std::uint64_t client = 0;
  std::uint64_t thread = 0;
  bool operator==(const Owner&) const = default;
};

struct Object {
  Kind kind{};
  std::vector<TypeDesc> types;  // dict: key, value; list, queue, value, array: the element
  std::string name;             // named objects live until the server stops
  std::int64_t refs = 0;        // holds by clients (see Server)
  std::condition_variable changed;

  OrderedBytesDict dict;                                    // dict
  std::map<std::string, std::pair<TypeDesc, Bytes>> attrs;  // namespace
  std::deque<Bytes> items;                                  // list, array, queue
  Bytes value;                                              // value
  std::int64_t maxsize = 0;                                 // queue: 0 is unbounded
  std::int64_t unfinished = 0;  // joinable queue: put, not yet task_done

  Owner owner;               // lock, rlock, condition's lock
  std::int64_t count = 0;    // rlock depth; semaphore value; barrier arrivals
  std::int64_t limit = 0;    // bounded semaphore's initial value; barrier parties
  std::uint32_t deaths = 0;  // holders that died holding the lock
  bool flag = false;         // event; barrier broken

  // condition: the waiting tickets in order, and those notified
  std::deque<std::uint64_t> waiting;
  std::set<std::uint64_t> notified;
  std::uint64_t next_ticket = 0;
  std::uint64_t generation = 0;  // barrier: cycles completed or reset
};

// d[k] op= x on messages of one arithmetic type (or std::string, for +). Throws TypeError for
// an operator the type does not have, ValueError for division by zero.
Bytes arithmetic(char op, const TypeDesc& type, const Bytes& a, const Bytes& b);
// The message of the type's zero (0, 0.0, ""): where increment starts a missing key.
Bytes zero_of(const TypeDesc& type);

}  // namespace mp::detail::manager
