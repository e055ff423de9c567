#include "services/manager/server.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "mp/errors.hpp"

namespace mp::detail::manager {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::nanoseconds;

const char* kind_name(Kind k) {
  static const char* const kNames[] = {
      "?",       "dict",  "list",      "Namespace",        "Queue",     "JoinableQueue",
      "Lock",    "RLock", "Semaphore", "BoundedSemaphore", "Condition", "Event",
      "Barrier", "Value", "Array"};
  const int i = static_cast<int>(k);
  return i >= 1 && i <= kKinds ? kNames[i] : "?";
}

std::size_t type_count(Kind k) {
  switch (k) {
    case Kind::dict:
      return 2;
    case Kind::list:
    case Kind::queue:
    case Kind::joinable_queue:
    case Kind::value:
    case Kind::array:
      return 1;
    default:
      return 0;
  }
}

std::string describe(Kind kind, const std::vector<TypeDesc>& types) {
  std::string s = kind_name(kind);
  if (types.size() == 2) return s + " of " + types[0].name + " → " + types[1].name;
  if (types.size() == 1) return s + " of " + types[0].name;
  return s;
}

[[noreturn]] void malformed(const char* what) {
  throw ProtocolError(std::string("malformed manager request: ") + what);
}

void need_values(const Request& r, std::size_t n) {
  if (r.values.size() != n) malformed("wrong number of values for the operation");
}

std::uint64_t tag_of(const Bytes& message) {
  if (message.size() < kTagSize) malformed("a value shorter than its tag");
  std::uint64_t tag = 0;
  std::memcpy(&tag, message.data(), kTagSize);
  return tag;
}

// Every value a request stores must be of the object's type: bytes of another type would come
// back to some other client as garbage.
void check_type(const Object& o, std::size_t which, const Bytes& message) {
  if (tag_of(message) != o.types.at(which).tag) {
    throw TypeError("a value of another type for the manager's " + describe(o.kind, o.types));
  }
}

[[noreturn]] void unsupported(const Object& o, Op op) {
  throw ValueError(std::string("a ") + kind_name(o.kind) + " has no operation " +
                   std::to_string(static_cast<int>(op)));
}

std::size_t list_index(std::int64_t i, std::size_t size) {
  const auto n = static_cast<std::int64_t>(size);
  if (i < 0) i += n;
  if (i < 0 || i >= n) throw std::out_of_range("IndexError: list index out of range");
  return static_cast<std::size_t>(i);
}

char operator_of(std::int64_t op) {
  switch (op) {
    case '+':
    case '-':
    case '*':
    case '/':
    case '%':
    case '&':
    case '|':
    case '^':
      return static_cast<char>(op);
    default:
      malformed("unknown operator");
  }
}

Reply found(bool yes) {
  Reply out;
  out.number = yes ? 1 : 0;
  return out;
}

Reply with(Bytes v, std::int64_t number = 1) {
  Reply out;
  out.number = number;
  out.values.push_back(std::move(v));
  return out;
}

bool is_lock_kind(Kind k) {
  return k == Kind::lock || k == Kind::rlock || k == Kind::condition;
}

}  // namespace

Server::Server(ServerOptions options) : options_(options) {}

bool Server::stopping() const {
  std::lock_guard lock(mutex_);
  return stopping_;
}

std::size_t Server::object_count() {
  std::lock_guard lock(mutex_);
  free_expired();
  return objects_.size();
}

bool Server::gone(std::uint64_t client) const {
  return client != 0 && std::find(gone_.begin(), gone_.end(), client) != gone_.end();
}

template <class Ready>
bool Server::wait(Object& o, Lock& lock, const Request& r, Ready ready) {
  nanoseconds limit = options_.max_wait;
  if (r.timeout_ns >= 0) limit = std::min(limit, nanoseconds(r.timeout_ns));
  const bool forever = limit > std::chrono::hours(24 * 365);
  const auto deadline = forever ? Clock::time_point::max() : Clock::now() + limit;
  for (;;) {
    if (ready()) return true;
    if (stopping_) throw EOFError("the manager is shutting down");
    if (gone(r.client)) throw EOFError("the calling process has gone");
    const auto now = Clock::now();
    if (!forever && now >= deadline) return false;
    // In slices: a waiter also notices a stop or its client's end without a notification.
    const nanoseconds slice = forever
                                  ? nanoseconds(std::chrono::seconds(1))
                                  : std::min<nanoseconds>(deadline - now, std::chrono::seconds(1));
    o.changed.wait_for(lock, slice);
  }
}

Reply Server::handle(std::span<const std::byte> bytes) {
  return handle(decode<Request>(bytes));
}

Reply Server::handle(const Request& r) {
  Lock lock(mutex_);
  for (auto id : r.increfs) incref(r.client, id);
  for (auto id : r.decrefs) decref(r.client, id);
  free_expired();
  if (r.op == Op::hello) return {};
  if (r.op == Op::create) return create(r, lock);
  if (r.op == Op::shutdown) {
    stopping_ = true;
    for (auto& [id, o] : objects_) o->changed.notify_all();
    return {};
  }
  if (r.op == Op::object_count) return Reply{static_cast<std::int64_t>(objects_.size()), {}};
  if (r.op < Op::set || r.op > Op::last) malformed("unknown operation");
  std::shared_ptr<Object> held = find(r.object, lock);
  Object& o = *held;
  switch (o.kind) {
    case Kind::dict:
      return on_dict(o, r);
    case Kind::list:
    case Kind::array:
      return on_list(o, r);
    case Kind::namespace_:
      return on_namespace(o, r);
    case Kind::queue:
    case Kind::joinable_queue:
      return on_queue(o, r, lock);
    case Kind::lock:
    case Kind::rlock:
      return on_lock(o, r, lock);
    case Kind::semaphore:
    case Kind::bounded_semaphore:
      return on_semaphore(o, r, lock);
    case Kind::condition:
      return on_condition(o, r, lock);
    case Kind::event:
      return on_event(o, r, lock);
    case Kind::barrier:
      return on_barrier(o, r, lock);
    case Kind::value:
      return on_value(o, r);
  }
  malformed("unknown kind");
}

std::shared_ptr<Object> Server::find(std::uint64_t id, Lock&) {
  auto it = objects_.find(id);
  if (it == objects_.end()) {
    throw ValueError("the manager has no object " + std::to_string(id) +
                     " (freed once no process held a proxy to it, or never made)");
  }
  return it->second;
}

Reply Server::create(const Request& r, Lock&) {
  if (r.number < 1 || r.number > kKinds) malformed("unknown kind");
  const auto kind = static_cast<Kind>(r.number);
  if (r.types.size() != type_count(kind)) malformed("wrong number of types for the kind");
  if (!r.text.empty()) {
    if (auto it = names_.find(r.text); it != names_.end()) {
      Object& there = *objects_.at(it->second);
      if (there.kind != kind || there.types != r.types) {
        throw TypeError("the manager's '" + r.text + "' is a " + describe(there.kind, there.types) +
                        ", not a " + describe(kind, r.types));
      }
      incref(r.client, it->second);
      return Reply{static_cast<std::int64_t>(it->second), {}};
    }
  }
  auto o = std::make_shared<Object>();
  o->kind = kind;
  o->types = r.types;
  o->name = r.text;
  switch (kind) {
    case Kind::list:
      for (const auto& v : r.values) check_type(*o, 0, v);
      o->items.assign(r.values.begin(), r.values.end());
      break;
    case Kind::value:
      need_values(r, 1);
      check_type(*o, 0, r.values[0]);
      o->value = r.values[0];
      break;
    case Kind::array:
      need_values(r, 1);
      check_type(*o, 0, r.values[0]);
      if (r.count < 0 || r.count > (std::int64_t{1} << 24)) {
        throw ValueError("an Array's size must be between 0 and 16777216");
      }
      o->items.assign(static_cast<std::size_t>(r.count), r.values[0]);
      break;
    case Kind::queue:
    case Kind::joinable_queue:
      o->maxsize = std::max<std::int64_t>(0, r.count);
      break;
    case Kind::semaphore:
    case Kind::bounded_semaphore:
      if (r.count < 0) throw ValueError("semaphore initial value must be >= 0");
      o->count = o->limit = r.count;
      break;
    case Kind::barrier:
      if (r.count <= 0) throw ValueError("a Barrier needs at least one party");
      o->limit = r.count;
      break;
    default:
      break;
  }
  const std::uint64_t id = ++next_id_;
  objects_.emplace(id, std::move(o));
  if (!r.text.empty()) names_.emplace(r.text, id);
  incref(r.client, id);
  return Reply{static_cast<std::int64_t>(id), {}};
}

void Server::incref(std::uint64_t client, std::uint64_t id) {
  auto it = objects_.find(id);
  if (it == objects_.end() || gone(client)) return;
  ++clients_[client].holds[id];
  ++it->second->refs;
}

void Server::decref(std::uint64_t client, std::uint64_t id) {
  auto c = clients_.find(client);
  if (c == clients_.end()) return;
  auto h = c->second.holds.find(id);
  if (h == c->second.holds.end()) return;
  if (--h->second == 0) c->second.holds.erase(h);
  auto it = objects_.find(id);
  if (it == objects_.end()) return;
  if (--it->second->refs == 0 && it->second->name.empty()) {
    expiring_.emplace(Clock::now() + options_.grace, id);
  }
}

void Server::free_expired() {
  const auto now = Clock::now();
  while (!expiring_.empty() && expiring_.begin()->first <= now) {
    const std::uint64_t id = expiring_.begin()->second;
    expiring_.erase(expiring_.begin());
    auto it = objects_.find(id);
    if (it != objects_.end() && it->second->refs == 0 && it->second->name.empty()) {
      it->second->changed.notify_all();
      objects_.erase(it);
    }
  }
}

void Server::client_gone(std::uint64_t client) {
  if (client == 0) return;
  Lock lock(mutex_);
  gone_.push_back(client);
  if (gone_.size() > 4096) gone_.erase(gone_.begin(), gone_.begin() + 2048);
  if (auto c = clients_.find(client); c != clients_.end()) {
    const auto holds = c->second.holds;
    for (const auto& [id, n] : holds) {
      for (std::int64_t i = 0; i < n; ++i) decref(client, id);
    }
    clients_.erase(client);
  }
  for (auto& [id, o] : objects_) {
    if (is_lock_kind(o->kind) && o->owner.client == client) {
      o->owner = {};
      o->count = 0;
      ++o->deaths;
      o->flag = true;  // the next acquirer learns that the owner died
    }
    o->changed.notify_all();
  }
}

void Server::undo_get(const Request& r, Bytes item) {
  Lock lock(mutex_);
  auto it = objects_.find(r.object);
  if (it == objects_.end()) return;
  it->second->items.push_front(std::move(item));
  it->second->changed.notify_all();
}

// --- containers -------------------------------------------------------------------------------

Reply Server::on_dict(Object& o, const Request& r) {
  switch (r.op) {
    case Op::set:
      need_values(r, 2);
      check_type(o, 0, r.values[0]);
      check_type(o, 1, r.values[1]);
      o.dict.set(r.values[0], r.values[1]);
      return {};
    case Op::get: {
      need_values(r, 1);
      const Bytes* v = o.dict.find(r.values[0]);
      return v == nullptr ? found(false) : with(*v);
    }
    case Op::contains:
      need_values(r, 1);
      return found(o.dict.find(r.values[0]) != nullptr);
    case Op::erase:
      need_values(r, 1);
      return found(o.dict.erase(r.values[0]).has_value());
    case Op::size:
      return Reply{static_cast<std::int64_t>(o.dict.size()), {}};
    case Op::items: {
      Reply out;
      out.values.reserve(2 * o.dict.size());
      o.dict.for_each([&](const Bytes& k, const Bytes& v) {
        out.values.push_back(k);
        out.values.push_back(v);
      });
      return out;
    }
    case Op::update:
      if (r.values.size() % 2 != 0) malformed("update needs key, value pairs");
      for (std::size_t i = 0; i < r.values.size(); i += 2) {
        check_type(o, 0, r.values[i]);
        check_type(o, 1, r.values[i + 1]);
      }
      for (std::size_t i = 0; i < r.values.size(); i += 2) o.dict.set(r.values[i], r.values[i + 1]);
      return {};
    case Op::clear:
      o.dict.clear();
      return {};
    case Op::setdefault: {
      need_values(r, 2);
      check_type(o, 0, r.values[0]);
      check_type(o, 1, r.values[1]);
      if (const Bytes* v = o.dict.find(r.values[0])) return with(*v);
      o.dict.set(r.values[0], r.values[1]);
      return with(r.values[1]);
    }
    case Op::pop: {
      need_values(r, 1);
      auto v = o.dict.erase(r.values[0]);
      return v ? with(std::move(*v)) : found(false);
    }
    case Op::popitem: {
      auto entry = o.dict.pop_last();
      if (!entry) return found(false);
      Reply out = with(std::move(entry->first));
      out.values.push_back(std::move(entry->second));
      return out;
    }
    case Op::apply:
    case Op::increment: {
      need_values(r, 2);
      check_type(o, 0, r.values[0]);
      check_type(o, 1, r.values[1]);
      Bytes* v = o.dict.find(r.values[0]);
      const char op = r.op == Op::apply ? operator_of(r.count) : '+';
      if (v == nullptr) {
        if (r.op == Op::apply) return found(false);
        o.dict.set(r.values[0], zero_of(o.types[1]));
        v = o.dict.find(r.values[0]);
      }
      *v = arithmetic(op, o.types[1], *v, r.values[1]);
      return with(*v);
    }
    case Op::compare_set: {
      need_values(r, 3);
      check_type(o, 0, r.values[0]);
      check_type(o, 1, r.values[2]);
      Bytes* v = o.dict.find(r.values[0]);
      if (v == nullptr || *v != r.values[1]) return found(false);
      *v = r.values[2];
      return found(true);
    }
    default:
      unsupported(o, r.op);
  }
}

Reply Server::on_list(Object& o, const Request& r) {
  const bool fixed = o.kind == Kind::array;
  auto& items = o.items;
  switch (r.op) {
    case Op::get:
      return with(items[list_index(r.number, items.size())]);
    case Op::set:
      need_values(r, 1);
      check_type(o, 0, r.values[0]);
      items[list_index(r.number, items.size())] = r.values[0];
      return {};
    case Op::size:
      return Reply{static_cast<std::int64_t>(items.size()), {}};
    case Op::items: {
      Reply out;
      out.values.assign(items.begin(), items.end());
      return out;
    }
    case Op::apply: {
      need_values(r, 1);
      check_type(o, 0, r.values[0]);
      Bytes& v = items[list_index(r.number, items.size())];
      v = arithmetic(operator_of(r.count), o.types[0], v, r.values[0]);
      return with(v);
    }
    default:
      break;
  }
  if (fixed) unsupported(o, r.op);
  switch (r.op) {
    case Op::append:
      need_values(r, 1);
      check_type(o, 0, r.values[0]);
      items.push_back(r.values[0]);
      return {};
    case Op::extend:
      for (const auto& v : r.values) check_type(o, 0, v);
      items.insert(items.end(), r.values.begin(), r.values.end());
      return {};
    case Op::insert: {
      need_values(r, 1);
      check_type(o, 0, r.values[0]);
      // As Python: clamped to the ends, negative counts from the end.
      const auto n = static_cast<std::int64_t>(items.size());
      std::int64_t i = r.number;
      if (i < 0) i = std::max<std::int64_t>(0, i + n);
      items.insert(items.begin() + std::min(i, n), r.values[0]);
      return {};
    }
    case Op::pop: {
      if (items.empty()) throw std::out_of_range("IndexError: pop from empty list");
      const std::size_t at = list_index(r.number, items.size());
      Bytes v = std::move(items[at]);
      items.erase(items.begin() + static_cast<std::ptrdiff_t>(at));
      return with(std::move(v));
    }
    case Op::clear:
      items.clear();
      return {};
    case Op::remove:
    case Op::index: {
      need_values(r, 1);
      auto it = std::find(items.begin(), items.end(), r.values[0]);
      if (it == items.end()) {
        throw ValueError(r.op == Op::remove ? "list.remove(x): x not in list" : "x is not in list");
      }
      const auto at = it - items.begin();
      if (r.op == Op::remove) items.erase(it);
      return Reply{at, {}};
    }
    case Op::count:
      need_values(r, 1);
      return Reply{std::count(items.begin(), items.end(), r.values[0]), {}};
    default:
      unsupported(o, r.op);
  }
}

Reply Server::on_namespace(Object& o, const Request& r) {
  switch (r.op) {
    case Op::set:
      need_values(r, 1);
      if (r.types.size() != 1 || r.types[0].tag != tag_of(r.values[0])) {
        malformed("a namespace value needs its type");
      }
      o.attrs[r.text] = {r.types[0], r.values[0]};
      return {};
    case Op::get: {
      auto it = o.attrs.find(r.text);
      if (it == o.attrs.end()) return found(false);
      if (r.types.size() != 1) malformed("a namespace get needs the expected type");
      if (it->second.first.tag != r.types[0].tag) {
        throw TypeError("Namespace attribute '" + r.text + "' holds a " + it->second.first.name +
                        ", not a " + r.types[0].name);
      }
      return with(it->second.second);
    }
    case Op::contains:
      return found(o.attrs.count(r.text) != 0);
    case Op::erase:
      return found(o.attrs.erase(r.text) != 0);
    case Op::items: {
      Reply out;
      for (const auto& [name, v] : o.attrs) out.values.push_back(encode(name));
      return out;
    }
    default:
      unsupported(o, r.op);
  }
}

Reply Server::on_value(Object& o, const Request& r) {
  switch (r.op) {
    case Op::get:
      return with(o.value);
    case Op::set:
      need_values(r, 1);
      check_type(o, 0, r.values[0]);
      o.value = r.values[0];
      return {};
    case Op::apply:
      need_values(r, 1);
      check_type(o, 0, r.values[0]);
      o.value = arithmetic(operator_of(r.count), o.types[0], o.value, r.values[0]);
      return with(o.value);
    case Op::compare_set:
      need_values(r, 2);
      check_type(o, 0, r.values[1]);
      if (o.value != r.values[0]) return found(false);
      o.value = r.values[1];
      return found(true);
    default:
      unsupported(o, r.op);
  }
}

// --- queues -----------------------------------------------------------------------------------

Reply Server::on_queue(Object& o, const Request& r, Lock& lock) {
  switch (r.op) {
    case Op::put: {
      need_values(r, 1);
      check_type(o, 0, r.values[0]);
      auto room = [&] {
        return o.maxsize == 0 || static_cast<std::int64_t>(o.items.size()) < o.maxsize;
      };
      if (!wait(o, lock, r, room)) throw Full("the manager's queue is full");
      o.items.push_back(r.values[0]);
      ++o.unfinished;
      o.changed.notify_all();
      return {};
    }
    case Op::get_item: {
      if (!wait(o, lock, r, [&] { return !o.items.empty(); })) {
        throw Empty("the manager's queue is empty");
      }
      Bytes v = std::move(o.items.front());
      o.items.pop_front();
      o.changed.notify_all();
      return with(std::move(v));
    }
    case Op::size:
      return Reply{static_cast<std::int64_t>(o.items.size()), {}};
    case Op::task_done:
      if (o.kind != Kind::joinable_queue) unsupported(o, r.op);
      if (o.unfinished <= 0) throw ValueError("task_done() called too many times");
      if (--o.unfinished == 0) o.changed.notify_all();
      return {};
    case Op::join:
      if (o.kind != Kind::joinable_queue) unsupported(o, r.op);
      return found(wait(o, lock, r, [&] { return o.unfinished == 0; }));
    default:
      unsupported(o, r.op);
  }
}

// --- synchronization --------------------------------------------------------------------------

Reply Server::on_lock(Object& o, const Request& r, Lock& lock) {
  const Owner me{r.client, r.thread};
  const bool recursive = o.kind == Kind::rlock || o.kind == Kind::condition;
  switch (r.op) {
    case Op::acquire: {
      if (recursive && o.count > 0 && o.owner == me) {
        ++o.count;
        return found(true);
      }
      if (!wait(o, lock, r, [&] { return o.count == 0; })) return found(false);
      o.owner = me;
      o.count = 1;
      const bool died = std::exchange(o.flag, false);
      return Reply{died ? 3 : 1, {}};
    }
    case Op::release:
      if (o.count == 0) throw ValueError("release unlocked lock");
      if (recursive && !(o.owner == me)) throw ValueError("cannot release un-acquired lock");
      if (--o.count == 0) {
        o.owner = {};
        o.changed.notify_all();
      }
      return {};
    case Op::owner_deaths:
      return Reply{o.deaths, {}};
    default:
      unsupported(o, r.op);
  }
}

Reply Server::on_semaphore(Object& o, const Request& r, Lock& lock) {
  switch (r.op) {
    case Op::acquire:
      if (!wait(o, lock, r, [&] { return o.count > 0; })) return found(false);
      --o.count;
      return found(true);
    case Op::release: {
      const std::int64_t n = r.number <= 0 ? 1 : r.number;
      if (o.kind == Kind::bounded_semaphore && o.count + n > o.limit) {
        throw ValueError("Semaphore released too many times");
      }
      o.count += n;
      o.changed.notify_all();
      return {};
    }
    case Op::get:
      return Reply{o.count, {}};
    default:
      unsupported(o, r.op);
  }
}

Reply Server::on_condition(Object& o, const Request& r, Lock& lock) {
  const Owner me{r.client, r.thread};
  switch (r.op) {
    case Op::acquire:
    case Op::release:
    case Op::owner_deaths:
      return on_lock(o, r, lock);
    case Op::wait: {
      if (o.count == 0 || !(o.owner == me)) throw ValueError("cannot wait on un-acquired lock");
      const std::int64_t depth = std::exchange(o.count, 0);
      o.owner = {};
      const std::uint64_t ticket = o.next_ticket++;
      o.waiting.push_back(ticket);
      o.changed.notify_all();
      bool notified = false;
      try {
        notified = wait(o, lock, r, [&] { return o.notified.count(ticket) != 0; });
      } catch (...) {
        std::erase(o.waiting, ticket);
        o.notified.erase(ticket);
        throw;
      }
      std::erase(o.waiting, ticket);
      o.notified.erase(ticket);
      // Taken back whatever the outcome, as Python's Condition.wait does.
      Request again = r;
      again.timeout_ns = -1;
      if (!wait(o, lock, again, [&] { return o.count == 0; })) {
        throw TimeoutError("the condition's lock was not free again in time");
      }
      o.owner = me;
      o.count = depth;
      return found(notified);
    }
    case Op::notify:
    case Op::notify_all: {
      if (o.count == 0 || !(o.owner == me)) throw ValueError("cannot notify on un-acquired lock");
      std::int64_t n = r.op == Op::notify_all ? static_cast<std::int64_t>(o.waiting.size())
                                              : std::max<std::int64_t>(r.number, 1);
      while (n-- > 0 && !o.waiting.empty()) {
        o.notified.insert(o.waiting.front());
        o.waiting.pop_front();
      }
      o.changed.notify_all();
      return {};
    }
    default:
      unsupported(o, r.op);
  }
}

Reply Server::on_event(Object& o, const Request& r, Lock& lock) {
  switch (r.op) {
    case Op::set_flag:
      o.flag = true;
      o.changed.notify_all();
      return {};
    case Op::clear_flag:
      o.flag = false;
      return {};
    case Op::is_set:
      return found(o.flag);
    case Op::wait:
      return found(wait(o, lock, r, [&] { return o.flag; }));
    default:
      unsupported(o, r.op);
  }
}

Reply Server::on_barrier(Object& o, const Request& r, Lock& lock) {
  switch (r.op) {
    case Op::wait: {
      if (o.flag) throw BrokenBarrierError("the barrier is broken");
      const std::int64_t index = o.count++;
      const std::uint64_t generation = o.generation;
      if (o.count == o.limit) {
        o.count = 0;
        ++o.generation;
        o.changed.notify_all();
        return Reply{index, {}};
      }
      bool passed = false;
      try {
        passed = wait(o, lock, r, [&] { return o.generation != generation || o.flag; });
      } catch (...) {
        if (o.generation == generation) {  // a caller that left breaks the barrier for all
          o.flag = true;
          o.changed.notify_all();
        }
        throw;
      }
      if (passed && o.generation != generation && o.next_ticket != generation + 1) {
        return Reply{index, {}};
      }
      if (!passed) {
        o.flag = true;
        o.changed.notify_all();
      }
      throw BrokenBarrierError("the barrier is broken");
    }
    case Op::abort:
      o.flag = true;
      o.changed.notify_all();
      return {};
    case Op::reset:
      // Those waiting now are told the barrier broke (next_ticket marks the generation reset,
      // plus one); the barrier starts afresh.
      if (o.count > 0) o.next_ticket = o.generation + 1;
      o.count = 0;
      o.flag = false;
      ++o.generation;
      o.changed.notify_all();
      return {};
    case Op::barrier_state: {
      Reply out{o.limit, {}};
      out.values.push_back(encode<std::int64_t>(o.count));
      out.values.push_back(encode<bool>(o.flag));
      return out;
    }
    default:
      unsupported(o, r.op);
  }
}

}  // namespace mp::detail::manager
