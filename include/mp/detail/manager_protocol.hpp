// mp/detail/manager_protocol.hpp — what a manager's clients and server say to each other.
//
// A request names an operation from a fixed set (Op) on an object of a fixed kind (Kind). Values
// travel as codec messages (mp/codec.hpp: the type's tag, then the value), so the server stores
// and compares bytes, checks every value's tag against the types the object was made with, and
// never runs code named by a client. The only values it interprets are the arithmetic types and
// std::string, for the atomic read-modify-write operations.
//
//   client ──[Request, encoded by the codec]──→ server ──[outcome + Reply]──→ client
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mp/codec.hpp"

namespace mp::detail::manager {

enum class Kind : std::uint8_t {
  dict = 1,
  list,
  namespace_,
  queue,
  joinable_queue,
  lock,
  rlock,
  semaphore,
  bounded_semaphore,
  condition,
  event,
  barrier,
  value,
  array,
};
inline constexpr int kKinds = static_cast<int>(Kind::array);

// Object 0 is the manager itself: hello, create, shutdown, object_count go to it.
enum class Op : std::uint8_t {
  hello = 1,     // the first message of a client's anchor connection (see client.cpp)
  create,        // kind in number, name in text ("" unnamed), types, initial values, size in count
  shutdown,      // stops the server
  object_count,  // how many objects the server holds
  // containers
  set,          // dict: key, value; list/array: index in number, value; value: value
  get,          // dict: key (number: found); list/array: index; value; namespace: attribute
  contains,     // dict: key
  erase,        // dict: key → 0 or 1
  size,         // dict, list, array, queue
  items,        // dict: k, v, k, v...; list/array: every element
  update,       // dict: k, v, k, v...
  clear,        // dict, list
  setdefault,   // dict: key, value → the value now there
  pop,          // dict: key (KeyError); list: index
  popitem,      // dict: the last entry
  apply,        // d[k] op= x, l[i] op= x, v op= x: operator in count (+ - * / % & | ^)
  increment,    // dict: key, delta; a missing key starts at zero
  compare_set,  // dict: key, expected, desired; value: expected, desired → 1 when swapped
  append,       // list
  extend,       // list
  insert,       // list: index in number
  remove,       // list: the first equal element (ValueError when none)
  index,        // list
  count,        // list
  // queues
  put,  // value; timeout
  get_item,
  task_done,
  join,
  // synchronization
  acquire,  // timeout
  release,  // semaphores: count in number
  owner_deaths,
  wait,  // condition, event, barrier: timeout
  notify,
  notify_all,
  is_set,
  set_flag,
  clear_flag,
  abort,
  reset,
  barrier_state,  // parties, waiting, broken
  last = barrier_state,
  // The connection's own business, below the server (services/manager/link.hpp).
  mailbox,  // the client offers a shared-memory mailbox (its memfd comes with the request)
};

// The operations that may wait on their object (for as long as their timeout_ns allows).
inline bool blocks(Op op) {
  return op == Op::put || op == Op::get_item || op == Op::acquire || op == Op::wait ||
         op == Op::join;
}

// An element type as the server sees it: the codec's tag, and a name for error messages.
struct TypeDesc {
  std::uint64_t tag = 0;
  std::string name;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(tag, name);
  }
  friend bool operator==(const TypeDesc& a, const TypeDesc& b) { return a.tag == b.tag; }
};

template <class T>
TypeDesc type_desc() {
  return {type_tag<T>(), type_name<T>()};
}

using Bytes = std::vector<std::byte>;

struct Request {
  std::uint64_t client = 0;            // the calling process (its anchor's id)
  std::uint64_t thread = 0;            // the calling thread: who owns a lock
  std::vector<std::uint64_t> increfs;  // objects this process now holds proxies to
  std::vector<std::uint64_t> decrefs;  // objects it no longer does
  Op op = Op::hello;
  std::uint64_t object = 0;
  std::vector<TypeDesc> types;   // create: the element types; namespace get: the expected one
  std::vector<Bytes> values;     // codec messages
  std::string text;              // an object's name, a namespace attribute
  std::int64_t number = 0;       // an index, a count; create: the kind
  std::int64_t count = 0;        // apply: the operator; create: size, maxsize, value, parties
  std::int64_t timeout_ns = -1;  // blocking operations: negative waits as long as it takes

  template <class Archive>
  void serialize(Archive& ar) {
    ar(client, thread, increfs, decrefs, op, object, types, values, text, number, count,
       timeout_ns);
  }
};

struct Reply {
  std::int64_t number = 0;
  std::vector<Bytes> values;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(number, values);
  }
};

}  // namespace mp::detail::manager
