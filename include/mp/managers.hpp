// mp/managers.hpp — objects kept by a server process and used through proxies from any
// process, as Python's multiprocessing.Manager.
//
//   mp::Manager manager;
//   auto d = manager.dict<std::string, std::string>();
//   mp::Process p([d]() mutable { d["key"] = "value"; });   // proxies are handles
//   p.start(); p.join();
//   std::cout << d << "\n";                                  // {'key': 'value'}
//
// Every call on a proxy is one round trip to the server, atomic there (the server serves one
// call at a time). Keys and values must be encodable (mp/codec.hpp); dict keys also need `<`.
//
// Differences from Python: proxies are typed (dict<K, V>, list<T>); a missing key or an index
// out of range throws std::out_of_range (Python: KeyError, IndexError); objects live until the
// manager shuts down (Python frees an object when its last proxy goes). Manager::connect to a
// manager of another program, and queue/lock/event/value/namespace objects, are planned.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <ranges>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "mp/codec.hpp"
#include "mp/detail/manager_core.hpp"
#include "mp/detail/repr.hpp"
#include "mp/detail/task.hpp"

namespace mp {

namespace detail {

// A dict that keeps insertion order, as Python's does: entries in order (erased ones leave a
// hole until the next compaction) and an index from key to position.
template <class K, class V>
class OrderedDict {
 public:
  void set(const K& k, V v) {
    auto it = index_.find(k);
    if (it != index_.end()) {
      slots_[it->second]->second = std::move(v);
      return;
    }
    index_.emplace(k, slots_.size());
    slots_.emplace_back(std::in_place, k, std::move(v));
  }
  const V* find(const K& k) const {
    auto it = index_.find(k);
    return it == index_.end() ? nullptr : &slots_[it->second]->second;
  }
  bool erase(const K& k) {
    auto it = index_.find(k);
    if (it == index_.end()) return false;
    slots_[it->second].reset();
    index_.erase(it);
    if (slots_.size() > 2 * index_.size() + 8) compact();
    return true;
  }
  std::size_t size() const { return index_.size(); }
  void clear() {
    slots_.clear();
    index_.clear();
  }
  std::vector<std::pair<K, V>> items() const {
    std::vector<std::pair<K, V>> out;
    out.reserve(index_.size());
    for (const auto& s : slots_) {
      if (s) out.push_back(*s);
    }
    return out;
  }

 private:
  void compact() {
    std::vector<std::optional<std::pair<K, V>>> kept;
    kept.reserve(index_.size());
    for (auto& s : slots_) {
      if (!s) continue;
      index_[s->first] = kept.size();
      kept.push_back(std::move(s));
    }
    slots_ = std::move(kept);
  }
  std::vector<std::optional<std::pair<K, V>>> slots_;
  std::map<K, std::size_t> index_;
};

template <class Object>
std::shared_ptr<void> make_object(std::span<const std::byte>) {
  return std::make_shared<Object>();
}

// Runs `fn(object, args...)` in the server and encodes what it returns.
template <class Object, auto Fn, class... Args>
void server_op(void* object, std::span<const std::byte> in, std::vector<std::byte>& out) {
  auto args = decode_payload<std::tuple<Args...>>(in);
  auto& obj = *static_cast<Object*>(object);
  if constexpr (std::is_void_v<decltype(std::apply([&](auto&... a) { return Fn(obj, a...); },
                                                   args))>) {
    std::apply([&](auto&... a) { Fn(obj, a...); }, args);
    encode_payload_into(Unit{}, out);
  } else {
    encode_payload_into(std::apply([&](auto&... a) { return Fn(obj, a...); }, args), out);
  }
}

// Calls `op` remotely with `args`; decodes an R.
template <class R, class... Args>
R remote(const ObjectRef& ref, ServerOp op, const Args&... args) {
  std::vector<std::byte> bytes;
  encode_payload_into(std::tuple<Args...>(args...), bytes);
  auto result = call_object(ref, op, bytes);
  if constexpr (std::is_void_v<R>) {
    (void)result;
  } else {
    return decode_payload<R>(result);
  }
}

template <class K>
[[noreturn]] void throw_key_error(const K& k) {
  std::ostringstream os;
  os << "KeyError: ";
  repr(os, k);
  throw std::out_of_range(os.str());
}

// Python's list indexing: negative counts from the end.
inline std::size_t list_index(std::ptrdiff_t i, std::size_t size) {
  const std::ptrdiff_t n = static_cast<std::ptrdiff_t>(size);
  if (i < 0) i += n;
  if (i < 0 || i >= n) throw std::out_of_range("IndexError: list index out of range");
  return static_cast<std::size_t>(i);
}

// What proxy[key] returns: assigning sets, reading gets (each a call to the server).
template <class Proxy, class Key, class Value>
class ItemRef {
 public:
  ItemRef(Proxy& proxy, Key key) : proxy_(proxy), key_(std::move(key)) {}
  ItemRef& operator=(const Value& v) {
    proxy_.set(key_, v);
    return *this;
  }
  operator Value() const { return proxy_.get(key_); }

 private:
  Proxy& proxy_;
  Key key_;
};

// What every proxy holds: where its object lives, and the way to call an operation on it.
template <class Object>
class ProxyBase {
 protected:
  ProxyBase() = default;
  explicit ProxyBase(ObjectRef ref) : ref_(std::move(ref)) {}
  template <class R, auto Fn, class... Args>
  R call(const Args&... args) const {
    return remote<R>(ref_, &server_op<Object, Fn, Args...>, args...);
  }
  ObjectRef ref_;
};

// What the proxies' calls do in the server.
template <class K, class V>
struct DictOps {
  using Object = OrderedDict<K, V>;
  static void set(Object& o, const K& k, const V& v) { o.set(k, v); }
  static V get(Object& o, const K& k) {
    const V* v = o.find(k);
    if (v == nullptr) throw_key_error(k);
    return *v;
  }
  static V get_or(Object& o, const K& k, const V& fallback) {
    const V* v = o.find(k);
    return v == nullptr ? fallback : *v;
  }
  static bool contains(Object& o, const K& k) { return o.find(k) != nullptr; }
  static std::size_t erase(Object& o, const K& k) { return o.erase(k) ? 1 : 0; }
  static std::size_t size(Object& o) { return o.size(); }
  static std::vector<std::pair<K, V>> items(Object& o) { return o.items(); }
  static void update(Object& o, const std::vector<std::pair<K, V>>& v) {
    for (const auto& [k, val] : v) o.set(k, val);
  }
  static void clear(Object& o) { o.clear(); }
};

template <class T>
struct ListOps {
  using Object = std::vector<T>;
  static void append(Object& o, const T& x) { o.push_back(x); }
  static void extend(Object& o, const std::vector<T>& xs) {
    o.insert(o.end(), xs.begin(), xs.end());
  }
  static T get(Object& o, std::ptrdiff_t i) { return o[list_index(i, o.size())]; }
  static void set(Object& o, std::ptrdiff_t i, const T& x) { o[list_index(i, o.size())] = x; }
  static void insert(Object& o, std::ptrdiff_t i, const T& x) {
    // As Python: clamped to the ends, negative counts from the end.
    const std::ptrdiff_t n = static_cast<std::ptrdiff_t>(o.size());
    if (i < 0) i = std::max<std::ptrdiff_t>(0, i + n);
    o.insert(o.begin() + std::min(i, n), x);
  }
  static T pop(Object& o, std::ptrdiff_t i) {
    if (o.empty()) throw std::out_of_range("IndexError: pop from empty list");
    const std::size_t at = list_index(i, o.size());
    T x = std::move(o[at]);
    o.erase(o.begin() + static_cast<std::ptrdiff_t>(at));
    return x;
  }
  static std::size_t size(Object& o) { return o.size(); }
  static std::vector<T> copy(Object& o) { return o; }
};

}  // namespace detail

// A proxy to a dict kept by a Manager; insertion order is kept, as in Python.
template <class K, class V>
class DictProxy : private detail::ProxyBase<detail::OrderedDict<K, V>> {
  using Ops = detail::DictOps<K, V>;
  using Base = detail::ProxyBase<detail::OrderedDict<K, V>>;

 public:
  void set(const K& k, const V& v) { this->template call<void, &Ops::set>(k, v); }
  // Throws std::out_of_range ("KeyError: 'k'") when missing.
  V get(const K& k) const { return this->template call<V, &Ops::get>(k); }
  V get(const K& k, const V& fallback) const {
    return this->template call<V, &Ops::get_or>(k, fallback);
  }
  bool contains(const K& k) const { return this->template call<bool, &Ops::contains>(k); }
  std::size_t erase(const K& k) { return this->template call<std::size_t, &Ops::erase>(k); }
  std::size_t size() const { return this->template call<std::size_t, &Ops::size>(); }
  std::vector<K> keys() const {
    std::vector<K> out;
    for (auto& [k, v] : items()) out.push_back(k);
    return out;
  }
  std::vector<V> values() const {
    std::vector<V> out;
    for (auto& [k, v] : items()) out.push_back(v);
    return out;
  }
  std::vector<std::pair<K, V>> items() const {
    return this->template call<std::vector<std::pair<K, V>>, &Ops::items>();
  }
  std::vector<std::pair<K, V>> copy() const { return items(); }
  // From another proxy or any range of (key, value) pairs.
  template <class Range>
  void update(const Range& pairs) {
    std::vector<std::pair<K, V>> v;
    if constexpr (requires { pairs.items(); }) {
      v = pairs.items();
    } else {
      for (const auto& [k, val] : pairs) v.emplace_back(k, val);
    }
    this->template call<void, &Ops::update>(v);
  }
  void clear() { this->template call<void, &Ops::clear>(); }

  // d[k] = v sets; reading d[k] gets (std::out_of_range when missing).
  detail::ItemRef<DictProxy, K, V> operator[](const K& k) { return {*this, k}; }

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

 private:
  friend class Manager;
  explicit DictProxy(detail::ObjectRef ref) : Base(std::move(ref)) {}

 public:
  // An unbound proxy (every call fails): what a decoder makes before it reads one.
  DictProxy() = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(this->ref_);
  }
};

// A proxy to a list kept by a Manager. Indices may be negative, as in Python.
template <class T>
class ListProxy : private detail::ProxyBase<std::vector<T>> {
  using Ops = detail::ListOps<T>;
  using Base = detail::ProxyBase<std::vector<T>>;

 public:
  void append(const T& x) { this->template call<void, &Ops::append>(x); }
  template <class Range>
  void extend(const Range& xs) {
    this->template call<void, &Ops::extend>(
        std::vector<T>(std::ranges::begin(xs), std::ranges::end(xs)));
  }
  T get(std::ptrdiff_t i) const { return this->template call<T, &Ops::get>(i); }
  void set(std::ptrdiff_t i, const T& x) { this->template call<void, &Ops::set>(i, x); }
  void insert(std::ptrdiff_t i, const T& x) { this->template call<void, &Ops::insert>(i, x); }
  // Removes and returns the item at `i` (the last by default).
  T pop(std::ptrdiff_t i = -1) { return this->template call<T, &Ops::pop>(i); }
  std::size_t size() const { return this->template call<std::size_t, &Ops::size>(); }
  std::vector<T> copy() const { return this->template call<std::vector<T>, &Ops::copy>(); }

  // l[i] = x sets; reading l[i] gets.
  detail::ItemRef<ListProxy, std::ptrdiff_t, T> operator[](std::ptrdiff_t i) { return {*this, i}; }

  // ['a', 'b'], as Python prints a list.
  friend std::ostream& operator<<(std::ostream& os, const ListProxy& l) {
    detail::repr_sequence(os, l.copy(), '[', ']');
    return os;
  }

 private:
  friend class Manager;
  explicit ListProxy(detail::ObjectRef ref) : Base(std::move(ref)) {}

 public:
  // An unbound proxy (every call fails): what a decoder makes before it reads one.
  ListProxy() = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(this->ref_);
  }
};

class Manager {
 public:
  Manager() : core_(std::make_unique<detail::ManagerCore>()) {}  // starts the server process
  ~Manager() = default;                                          // shutdown()
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  template <class K, class V>
  DictProxy<K, V> dict() {
    static_assert(detail::require_encodable<K>() && detail::require_encodable<V>(),
                  "mp: Manager::dict needs encodable K and V");
    return DictProxy<K, V>(core_->make(&detail::make_object<detail::OrderedDict<K, V>>, {}));
  }
  template <class T>
  ListProxy<T> list() {
    static_assert(detail::require_encodable<T>(), "mp: Manager::list needs an encodable T");
    return ListProxy<T>(core_->make(&detail::make_object<std::vector<T>>, {}));
  }

  // Stops the server; proxies fail afterwards.
  void shutdown() { core_->shutdown(); }
  const std::string& address() const noexcept { return core_->address(); }

 private:
  std::unique_ptr<detail::ManagerCore> core_;
};

}  // namespace mp
