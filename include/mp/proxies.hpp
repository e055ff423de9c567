// mp/proxies.hpp — proxies to the objects a Manager keeps (mp/managers.hpp makes them).
//
// A proxy is a handle: copy it, capture it in a child's target, send it through a Queue or a
// Pipe; every copy in every process reaches the same object. Each call is one round trip to
// the server and atomic there. Values must be encodable (mp/codec.hpp).
//
// d[k] and l[i] return a live reference, not a value: assigning to it sets the item on the
// server, reading it (conversion to V, get(), printing) fetches the item, and d[k] += x (-=, *=,
// /=, %=, &=, |=, ^=) is one atomic operation on the server, exact however many processes do it
// at once (Python's d[k] += x is a get and a set, and loses updates under contention).
//
// Differences from Python: proxies are typed (dict<K, V>, list<T>, ...); a missing key, index or
// attribute throws std::out_of_range ("KeyError: 'k'", "IndexError: ...", "AttributeError: ...").
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <ranges>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "mp/codec.hpp"
#include "mp/detail/manager_client.hpp"
#include "mp/detail/repr.hpp"
#include "mp/errors.hpp"

namespace mp {

class Manager;

namespace detail::manager {

template <class K>
[[noreturn]] void throw_key_error(const K& k) {
  std::ostringstream os;
  os << "KeyError: ";
  repr(os, k);
  throw std::out_of_range(os.str());
}

template <class T>
constexpr bool server_arithmetic = (std::is_arithmetic_v<T> && !std::is_same_v<T, bool> &&
                                    !std::is_same_v<T, char> && !std::is_same_v<T, long double>) ||
                                   std::is_same_v<T, std::string>;

template <class D>
std::int64_t nanos(D d) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
}

// What every proxy holds: this process's hold on the object, and the call that reaches it.
class ProxyBase {
 public:
  template <class Archive>
  void save(Archive& ar) const {
    ar(holder_ ? holder_->ref() : ObjectRef{});
  }
  template <class Archive>
  void load(Archive& ar) {
    ObjectRef ref;
    ar(ref);
    holder_ = ref.id == 0 ? nullptr : std::make_shared<const Holder>(std::move(ref), false);
  }

 protected:
  ProxyBase() = default;  // unbound: every call throws ValueError
  explicit ProxyBase(std::shared_ptr<const Holder> h) : holder_(std::move(h)) {}

  Reply invoke(Request r) const {
    if (!holder_) throw ValueError("mp: this proxy is not bound to a manager object");
    r.object = holder_->ref().id;
    return call(holder_->ref(), std::move(r));
  }
  Reply invoke(Op op, std::vector<Bytes> values = {}, std::int64_t number = 0) const {
    Request r;
    r.op = op;
    r.values = std::move(values);
    r.number = number;
    return invoke(std::move(r));
  }
  Reply invoke_for(Op op, std::optional<std::chrono::nanoseconds> timeout,
                   std::vector<Bytes> values = {}) const {
    Request r;
    r.op = op;
    r.values = std::move(values);
    r.timeout_ns = timeout ? std::max<std::int64_t>(0, timeout->count()) : -1;
    return invoke(std::move(r));
  }

  // Every element, decoded (list, array copies).
  template <class T>
  std::vector<T> decoded_items() const {
    auto r = invoke(Op::items);
    std::vector<T> out;
    out.reserve(r.values.size());
    for (const auto& v : r.values) out.push_back(decode<T>(v));
    return out;
  }
  // l[i] op= x on the server (list, array).
  void apply_at(std::ptrdiff_t i, char op, Bytes x) const {
    Request r;
    r.op = Op::apply;
    r.values = {std::move(x)};
    r.number = i;
    r.count = op;
    invoke(std::move(r));
  }

  std::shared_ptr<const Holder> holder_;
};

// d[k], l[i]: a live reference to one item (see the top of this file).
template <class Proxy, class Key, class Value>
class ItemRef {
 public:
  ItemRef(Proxy& proxy, Key key) : proxy_(proxy), key_(std::move(key)) {}
  ItemRef& operator=(const Value& v) {
    proxy_.set(key_, v);
    return *this;
  }
  ItemRef& operator=(const ItemRef& other) { return *this = other.get(); }
  Value get() const { return proxy_.get(key_); }
  operator Value() const { return get(); }

  ItemRef& operator+=(const Value& x) { return apply('+', x); }
  ItemRef& operator-=(const Value& x) { return apply('-', x); }
  ItemRef& operator*=(const Value& x) { return apply('*', x); }
  ItemRef& operator/=(const Value& x) { return apply('/', x); }
  ItemRef& operator%=(const Value& x) { return apply('%', x); }
  ItemRef& operator&=(const Value& x) { return apply('&', x); }
  ItemRef& operator|=(const Value& x) { return apply('|', x); }
  ItemRef& operator^=(const Value& x) { return apply('^', x); }

  friend bool operator==(const ItemRef& r, const Value& v) { return r.get() == v; }

  friend std::ostream& operator<<(std::ostream& os, const ItemRef& r) {
    if constexpr (requires { os << std::declval<const Value&>(); }) {
      os << r.get();
    } else {
      repr(os, r.get());
    }
    return os;
  }

 private:
  ItemRef& apply(char op, const Value& x) {
    static_assert(server_arithmetic<Value>,
                  "mp: the manager does arithmetic on numbers and std::string only");
    proxy_.apply_op(key_, op, x);
    return *this;
  }
  Proxy& proxy_;
  Key key_;
};

// Iterating a proxy walks a snapshot taken by begin(): one round trip, then local reads.
template <class Item>
class SnapshotIterator {
 public:
  using value_type = Item;
  using difference_type = std::ptrdiff_t;
  SnapshotIterator() = default;
  explicit SnapshotIterator(std::shared_ptr<const std::vector<Item>> items)
      : items_(std::move(items)) {}
  const Item& operator*() const { return (*items_)[at_]; }
  const Item* operator->() const { return &(*items_)[at_]; }
  SnapshotIterator& operator++() {
    ++at_;
    return *this;
  }
  SnapshotIterator operator++(int) {
    auto old = *this;
    ++at_;
    return old;
  }
  friend bool operator==(const SnapshotIterator& it, std::default_sentinel_t) {
    return !it.items_ || it.at_ >= it.items_->size();
  }

 private:
  std::shared_ptr<const std::vector<Item>> items_;
  std::size_t at_ = 0;
};

// Python's acquire(blocking=True, timeout=None), as three overloads over the proxy's
// acquire_for(timeout) (nullopt: no limit).
template <class Proxy>
class AcquireOverloads {
 public:
  bool acquire() { return self().acquire_for(std::nullopt); }
  bool acquire(bool blocking) {
    return self().acquire_for(blocking ? std::nullopt : std::optional(std::chrono::nanoseconds(0)));
  }
  template <class Rep, class Period>
  bool acquire(std::chrono::duration<Rep, Period> timeout) {
    return self().acquire_for(std::chrono::duration_cast<std::chrono::nanoseconds>(timeout));
  }

 private:
  Proxy& self() { return static_cast<Proxy&>(*this); }
};

}  // namespace detail::manager

// A dict kept by a Manager; insertion order is kept, as in Python.
template <class K, class V>
class DictProxy : public detail::manager::ProxyBase {
 public:
  DictProxy() = default;  // unbound: what a decoder makes before it reads one

  void set(const K& k, const V& v) { invoke(Op::set, {encode(k), encode(v)}); }
  // Throws std::out_of_range ("KeyError: 'k'") when missing.
  V get(const K& k) const {
    auto r = invoke(Op::get, {encode(k)});
    if (r.number == 0) detail::manager::throw_key_error(k);
    return decode<V>(r.values.at(0));
  }
  V get(const K& k, const V& fallback) const {
    auto r = invoke(Op::get, {encode(k)});
    return r.number == 0 ? fallback : decode<V>(r.values.at(0));
  }
  bool contains(const K& k) const { return invoke(Op::contains, {encode(k)}).number != 0; }
  // Removes k; returns how many were removed (0 or 1).
  std::size_t erase(const K& k) {
    return static_cast<std::size_t>(invoke(Op::erase, {encode(k)}).number);
  }
  std::size_t size() const { return static_cast<std::size_t>(invoke(Op::size).number); }
  bool empty() const { return size() == 0; }
  std::vector<std::pair<K, V>> items() const {
    auto r = invoke(Op::items);
    std::vector<std::pair<K, V>> out;
    out.reserve(r.values.size() / 2);
    for (std::size_t i = 0; i + 1 < r.values.size(); i += 2) {
      out.emplace_back(decode<K>(r.values[i]), decode<V>(r.values[i + 1]));
    }
    return out;
  }
  std::vector<K> keys() const {
    std::vector<K> out;
    for (auto& [k, v] : items()) out.push_back(std::move(k));
    return out;
  }
  std::vector<V> values() const {
    std::vector<V> out;
    for (auto& [k, v] : items()) out.push_back(std::move(v));
    return out;
  }
  std::vector<std::pair<K, V>> copy() const { return items(); }
  // From another proxy or any range of (key, value) pairs; one atomic call.
  template <class Range>
  void update(const Range& pairs) {
    std::vector<Bytes> v;
    if constexpr (requires { pairs.items(); }) {
      for (const auto& [k, val] : pairs.items()) {
        v.push_back(encode(k));
        v.push_back(encode(val));
      }
    } else {
      for (const auto& [k, val] : pairs) {
        v.push_back(encode(static_cast<K>(k)));
        v.push_back(encode(static_cast<V>(val)));
      }
    }
    invoke(Op::update, std::move(v));
  }
  void clear() { invoke(Op::clear); }

  // Atomic on the server, whoever else calls meanwhile.
  // d.setdefault(k, v): the value at k, after setting it to v if k was missing.
  V setdefault(const K& k, const V& v) {
    return decode<V>(invoke(Op::setdefault, {encode(k), encode(v)}).values.at(0));
  }
  // Removes k and returns its value; KeyError when missing (or `fallback`).
  V pop(const K& k) {
    auto r = invoke(Op::pop, {encode(k)});
    if (r.number == 0) detail::manager::throw_key_error(k);
    return decode<V>(r.values.at(0));
  }
  V pop(const K& k, const V& fallback) {
    auto r = invoke(Op::pop, {encode(k)});
    return r.number == 0 ? fallback : decode<V>(r.values.at(0));
  }
  // Removes and returns the last entry; KeyError when empty.
  std::pair<K, V> popitem() {
    auto r = invoke(Op::popitem);
    if (r.number == 0) throw std::out_of_range("KeyError: 'popitem(): dictionary is empty'");
    return {decode<K>(r.values.at(0)), decode<V>(r.values.at(1))};
  }
  // d[k] += delta, a missing key counting as zero (""); returns the new value. Numbers and
  // std::string only.
  V increment(const K& k, const V& delta = V(1)) requires detail::manager::server_arithmetic<V> {
    return decode<V>(invoke(Op::increment, {encode(k), encode(delta)}).values.at(0));
  }
  // Sets k to `desired` if it holds `expected`; false (and nothing changed) otherwise, or when
  // k is missing.
  bool compare_and_set(const K& k, const V& expected, const V& desired) {
    return invoke(Op::compare_set, {encode(k), encode(expected), encode(desired)}).number != 0;
  }

  // d[k] = v sets; reading d[k] gets (KeyError when missing); d[k] += x is atomic.
  detail::manager::ItemRef<DictProxy, K, V> operator[](const K& k) { return {*this, k}; }

  // for (const auto& [k, v] : d): over a snapshot taken when the loop starts.
  detail::manager::SnapshotIterator<std::pair<K, V>> begin() const {
    return detail::manager::SnapshotIterator<std::pair<K, V>>(
        std::make_shared<const std::vector<std::pair<K, V>>>(items()));
  }
  std::default_sentinel_t end() const { return {}; }

  // {'key': 'value'}, as Python prints a dict.
  friend std::ostream& operator<<(std::ostream& os, const DictProxy& d) {
    os << '{';
    bool first = true;
    for (const auto& [k, v] : d.items()) {
      os << (first ? "" : ", ");
      first = false;
      detail::repr(os, k);
      os << ": ";
      detail::repr(os, v);
    }
    return os << '}';
  }

  void apply_op(const K& k, char op, const V& x) {
    Request r;
    r.op = Op::apply;
    r.values = {encode(k), encode(x)};
    r.count = op;
    if (invoke(std::move(r)).number == 0) detail::manager::throw_key_error(k);
  }

 private:
  using Op = detail::manager::Op;
  using Request = detail::manager::Request;
  using Bytes = detail::manager::Bytes;
  friend class Manager;
  using ProxyBase::ProxyBase;
};

namespace detail::manager {

// What a list and an array kept by a Manager share: element access by index (negative too, as
// in Python), a copy, iteration over a snapshot and Python's printing.
template <class Derived, class T>
class IndexedProxy : public ProxyBase {
 public:
  T get(std::ptrdiff_t i) const { return decode<T>(invoke(Op::get, {}, i).values.at(0)); }
  void set(std::ptrdiff_t i, const T& x) { invoke(Op::set, {encode(x)}, i); }
  std::size_t size() const { return static_cast<std::size_t>(invoke(Op::size).number); }
  std::vector<T> copy() const { return decoded_items<T>(); }

  // p[i] = x sets; reading p[i] gets; p[i] += x is atomic.
  ItemRef<Derived, std::ptrdiff_t, T> operator[](std::ptrdiff_t i) {
    return {static_cast<Derived&>(*this), i};
  }
  SnapshotIterator<T> begin() const {
    return SnapshotIterator<T>(std::make_shared<const std::vector<T>>(copy()));
  }
  std::default_sentinel_t end() const { return {}; }

  // ['a', 'b'], as Python prints a list.
  friend std::ostream& operator<<(std::ostream& os, const Derived& p) {
    repr_sequence(os, p.copy(), '[', ']');
    return os;
  }

  void apply_op(std::ptrdiff_t i, char op, const T& x) { apply_at(i, op, encode(x)); }

 protected:
  using ProxyBase::ProxyBase;
};

}  // namespace detail::manager

// A list kept by a Manager. Indices may be negative, as in Python.
template <class T>
class ListProxy : public detail::manager::IndexedProxy<ListProxy<T>, T> {
  using Base = detail::manager::IndexedProxy<ListProxy<T>, T>;

 public:
  ListProxy() = default;

  void append(const T& x) { this->invoke(Op::append, {encode(x)}); }
  template <class Range>
  void extend(const Range& xs) {
    std::vector<Bytes> v;
    for (const auto& x : xs) v.push_back(encode(static_cast<T>(x)));
    this->invoke(Op::extend, std::move(v));
  }
  void insert(std::ptrdiff_t i, const T& x) { this->invoke(Op::insert, {encode(x)}, i); }
  // Removes and returns the item at `i` (the last by default).
  T pop(std::ptrdiff_t i = -1) { return decode<T>(this->invoke(Op::pop, {}, i).values.at(0)); }
  // Removes the first item equal to x (ValueError when none).
  void remove(const T& x) { this->invoke(Op::remove, {encode(x)}); }
  std::size_t index(const T& x) const {
    return static_cast<std::size_t>(this->invoke(Op::index, {encode(x)}).number);
  }
  std::size_t count(const T& x) const {
    return static_cast<std::size_t>(this->invoke(Op::count, {encode(x)}).number);
  }
  void clear() { this->invoke(Op::clear); }
  bool empty() const { return this->size() == 0; }

 private:
  using Op = detail::manager::Op;
  using Bytes = detail::manager::Bytes;
  friend class Manager;
  using Base::Base;
};

// An Array kept by a Manager: a list of fixed size.
template <class T>
class ArrayProxy : public detail::manager::IndexedProxy<ArrayProxy<T>, T> {
  using Base = detail::manager::IndexedProxy<ArrayProxy<T>, T>;

 public:
  ArrayProxy() = default;

 private:
  friend class Manager;
  using Base::Base;
};

// A Value kept by a Manager: get(), set(x); v += x (and the other compound assignments) and
// compare_and_set are atomic on the server.
template <class T>
class ValueProxy : public detail::manager::ProxyBase {
 public:
  ValueProxy() = default;
  T get() const { return decode<T>(invoke(Op::get).values.at(0)); }
  void set(const T& x) { invoke(Op::set, {encode(x)}); }
  T value() const { return get(); }
  bool compare_and_set(const T& expected, const T& desired) {
    return invoke(Op::compare_set, {encode(expected), encode(desired)}).number != 0;
  }
  // Applies `op` on the server; returns the new value.
  T apply(char op, const T& x) requires detail::manager::server_arithmetic<T> {
    Request r;
    r.op = Op::apply;
    r.values = {encode(x)};
    r.count = op;
    return decode<T>(invoke(std::move(r)).values.at(0));
  }
  ValueProxy& operator+=(const T& x) {
    apply('+', x);
    return *this;
  }
  ValueProxy& operator-=(const T& x) {
    apply('-', x);
    return *this;
  }
  ValueProxy& operator*=(const T& x) {
    apply('*', x);
    return *this;
  }
  ValueProxy& operator/=(const T& x) {
    apply('/', x);
    return *this;
  }
  friend std::ostream& operator<<(std::ostream& os, const ValueProxy& v) {
    detail::repr(os, v.get());
    return os;
  }

 private:
  using Op = detail::manager::Op;
  using Request = detail::manager::Request;
  friend class Manager;
  using ProxyBase::ProxyBase;
};

// A Namespace kept by a Manager: attributes of any encodable type, each checked on get.
class NamespaceProxy : public detail::manager::ProxyBase {
 public:
  NamespaceProxy() = default;
  template <class T>
  void set(const std::string& name, const T& value) {
    Request r;
    r.op = Op::set;
    r.text = name;
    r.types = {detail::manager::type_desc<T>()};
    r.values = {encode(value)};
    invoke(std::move(r));
  }
  // std::out_of_range ("AttributeError: ...") when missing; TypeError when it holds another type.
  template <class T>
  T get(const std::string& name) const {
    Request r;
    r.op = Op::get;
    r.text = name;
    r.types = {detail::manager::type_desc<T>()};
    auto reply = invoke(std::move(r));
    if (reply.number == 0) {
      throw std::out_of_range("AttributeError: 'Namespace' object has no attribute '" + name + "'");
    }
    return decode<T>(reply.values.at(0));
  }
  bool contains(const std::string& name) const {
    Request r;
    r.op = Op::contains;
    r.text = name;
    return invoke(std::move(r)).number != 0;
  }
  bool erase(const std::string& name) {
    Request r;
    r.op = Op::erase;
    r.text = name;
    return invoke(std::move(r)).number != 0;
  }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& v : invoke(Op::items).values) out.push_back(decode<std::string>(v));
    return out;
  }

 private:
  using Op = detail::manager::Op;
  using Request = detail::manager::Request;
  friend class Manager;
  using ProxyBase::ProxyBase;
};

// A Queue (or JoinableQueue) kept by a Manager, with the local Queue's methods.
template <class T>
class QueueProxy : public detail::manager::ProxyBase {
 public:
  QueueProxy() = default;
  void put(const T& x) { invoke_for(Op::put, std::nullopt, {encode(x)}); }
  // Throws mp::Full after `timeout` when the queue has a maxsize and stays full.
  template <class Rep, class Period>
  void put(const T& x, std::chrono::duration<Rep, Period> timeout) {
    invoke_for(Op::put, std::chrono::duration_cast<std::chrono::nanoseconds>(timeout), {encode(x)});
  }
  void put_nowait(const T& x) { put(x, std::chrono::nanoseconds(0)); }
  T get() { return decode<T>(invoke_for(Op::get_item, std::nullopt).values.at(0)); }
  // Throws mp::Empty after `timeout`.
  template <class Rep, class Period>
  T get(std::chrono::duration<Rep, Period> timeout) {
    auto r =
        invoke_for(Op::get_item, std::chrono::duration_cast<std::chrono::nanoseconds>(timeout));
    return decode<T>(r.values.at(0));
  }
  T get_nowait() { return get(std::chrono::nanoseconds(0)); }
  template <class Rep = std::int64_t, class Period = std::nano>
  std::optional<T> try_get(std::chrono::duration<Rep, Period> timeout = {}) {
    try {
      return get(timeout);
    } catch (const Empty&) {
      return std::nullopt;
    }
  }
  std::size_t qsize() const { return static_cast<std::size_t>(invoke(Op::size).number); }
  bool empty() const { return qsize() == 0; }

  // JoinableQueue only (a plain queue's server refuses them with ValueError).
  void task_done() { invoke(Op::task_done); }
  void join() { invoke_for(Op::join, std::nullopt); }
  template <class Rep, class Period>
  bool join(std::chrono::duration<Rep, Period> timeout) {
    return invoke_for(Op::join, std::chrono::duration_cast<std::chrono::nanoseconds>(timeout))
               .number != 0;
  }

 private:
  using Op = detail::manager::Op;
  friend class Manager;
  using ProxyBase::ProxyBase;
};

// A Lock or RLock kept by a Manager. Usable with std::lock_guard / std::unique_lock.
//
// Beyond Python: a holder whose process dies (crash, kill -9) releases the lock; the next
// acquire succeeds and owner_died() tells it that the data the lock guarded may be half-updated.
class LockProxy : public detail::manager::ProxyBase,
                  public detail::manager::AcquireOverloads<LockProxy> {
 public:
  LockProxy() = default;
  void release() { invoke(Op::release); }
  void lock() { acquire(); }
  void unlock() { release(); }
  bool try_lock() { return acquire(false); }
  // Whether the last acquire() through this proxy took the lock over from a dead holder.
  bool owner_died() const noexcept { return owner_died_; }
  // How many holders died holding this lock.
  std::uint32_t owner_deaths() const {
    return static_cast<std::uint32_t>(invoke(Op::owner_deaths).number);
  }

 protected:
  bool acquire_for(std::optional<std::chrono::nanoseconds> timeout) {
    const auto n = invoke_for(Op::acquire, timeout).number;
    owner_died_ = (n & 2) != 0;
    return (n & 1) != 0;
  }

 private:
  using Op = detail::manager::Op;
  friend class Manager;
  friend class detail::manager::AcquireOverloads<LockProxy>;
  using ProxyBase::ProxyBase;
  bool owner_died_ = false;
};

// A Condition kept by a Manager, over a lock of its own (recursive, as Python's default).
class ConditionProxy : public LockProxy {
 public:
  ConditionProxy() = default;
  void wait() { invoke_for(Op::wait, std::nullopt); }
  template <class Rep, class Period>
  bool wait_for(std::chrono::duration<Rep, Period> timeout) {
    return invoke_for(Op::wait, std::chrono::duration_cast<std::chrono::nanoseconds>(timeout))
               .number != 0;
  }
  template <class Predicate>
  void wait(Predicate pred) {
    while (!pred()) wait();
  }
  template <class Rep, class Period, class Predicate>
  bool wait_for(std::chrono::duration<Rep, Period> timeout, Predicate pred) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (!pred()) {
      const auto left = end - std::chrono::steady_clock::now();
      if (left <= left.zero()) return pred();
      wait_for(left);
    }
    return true;
  }
  void notify(int n = 1) { invoke(Op::notify, {}, n); }
  void notify_all() { invoke(Op::notify_all); }

 private:
  using Op = detail::manager::Op;
  friend class Manager;
  explicit ConditionProxy(std::shared_ptr<const detail::manager::Holder> h)
      : LockProxy(std::move(h)) {}
};

// A Semaphore or BoundedSemaphore kept by a Manager.
class SemaphoreProxy : public detail::manager::ProxyBase,
                       public detail::manager::AcquireOverloads<SemaphoreProxy> {
 public:
  SemaphoreProxy() = default;
  // A BoundedSemaphore released past its initial value throws ValueError.
  void release(int n = 1) { invoke(Op::release, {}, n); }
  int get_value() const { return static_cast<int>(invoke(Op::get).number); }

 private:
  using Op = detail::manager::Op;
  bool acquire_for(std::optional<std::chrono::nanoseconds> timeout) {
    return invoke_for(Op::acquire, timeout).number != 0;
  }
  friend class Manager;
  friend class detail::manager::AcquireOverloads<SemaphoreProxy>;
  using ProxyBase::ProxyBase;
};

// An Event kept by a Manager.
class EventProxy : public detail::manager::ProxyBase {
 public:
  EventProxy() = default;
  void set() { invoke(Op::set_flag); }
  void clear() { invoke(Op::clear_flag); }
  bool is_set() const { return invoke(Op::is_set).number != 0; }
  bool wait() { return invoke_for(Op::wait, std::nullopt).number != 0; }
  template <class Rep, class Period>
  bool wait_for(std::chrono::duration<Rep, Period> timeout) {
    return invoke_for(Op::wait, std::chrono::duration_cast<std::chrono::nanoseconds>(timeout))
               .number != 0;
  }

 private:
  using Op = detail::manager::Op;
  friend class Manager;
  using ProxyBase::ProxyBase;
};

// A Barrier kept by a Manager. wait() returns this caller's arrival index (0 .. parties-1);
// BrokenBarrierError on abort(), reset() while waiting, or a waiter's timeout.
class BarrierProxy : public detail::manager::ProxyBase {
 public:
  BarrierProxy() = default;
  int wait() { return static_cast<int>(invoke_for(Op::wait, std::nullopt).number); }
  template <class Rep, class Period>
  int wait(std::chrono::duration<Rep, Period> timeout) {
    return static_cast<int>(
        invoke_for(Op::wait, std::chrono::duration_cast<std::chrono::nanoseconds>(timeout)).number);
  }
  void abort() { invoke(Op::abort); }
  void reset() { invoke(Op::reset); }
  int parties() const { return static_cast<int>(invoke(Op::barrier_state).number); }
  int n_waiting() const {
    return static_cast<int>(decode<std::int64_t>(invoke(Op::barrier_state).values.at(0)));
  }
  bool broken() const { return decode<bool>(invoke(Op::barrier_state).values.at(1)); }

 private:
  using Op = detail::manager::Op;
  friend class Manager;
  using ProxyBase::ProxyBase;
};

}  // namespace mp
