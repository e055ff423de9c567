#include "services/manager/objects.hpp"

#include <cmath>
#include <limits>
#include <type_traits>

#include "mp/errors.hpp"

namespace mp::detail::manager {

Bytes* OrderedBytesDict::find(const Bytes& k) {
  auto it = index_.find(k);
  return it == index_.end() ? nullptr : &slots_[it->second]->second;
}

void OrderedBytesDict::set(const Bytes& k, Bytes v) {
  if (Bytes* there = find(k)) {
    *there = std::move(v);
    return;
  }
  index_.emplace(k, slots_.size());
  slots_.emplace_back(std::in_place, k, std::move(v));
}

std::optional<Bytes> OrderedBytesDict::erase(const Bytes& k) {
  auto it = index_.find(k);
  if (it == index_.end()) return std::nullopt;
  Bytes v = std::move(slots_[it->second]->second);
  slots_[it->second].reset();
  index_.erase(it);
  if (slots_.size() > 2 * index_.size() + 8) compact();
  return v;
}

std::optional<std::pair<Bytes, Bytes>> OrderedBytesDict::pop_last() {
  while (!slots_.empty() && !slots_.back()) slots_.pop_back();
  if (slots_.empty()) return std::nullopt;
  auto entry = std::move(*slots_.back());
  slots_.pop_back();
  index_.erase(entry.first);
  return entry;
}

void OrderedBytesDict::clear() {
  slots_.clear();
  index_.clear();
}

void OrderedBytesDict::compact() {
  std::vector<std::optional<std::pair<Bytes, Bytes>>> kept;
  kept.reserve(index_.size());
  for (auto& s : slots_) {
    if (!s) continue;
    index_[s->first] = kept.size();
    kept.push_back(std::move(s));
  }
  slots_ = std::move(kept);
}

namespace {

template <class T>
T apply_op(char op, T a, T b, const std::string& type) {
  auto unsupported = [&]() -> T {
    throw TypeError(std::string("unsupported operand for ") + op + "=: " + type);
  };
  if constexpr (std::is_same_v<T, std::string>) {
    if (op == '+') return a + b;
    return unsupported();
  } else if constexpr (std::is_floating_point_v<T>) {
    switch (op) {
      case '+':
        return a + b;
      case '-':
        return a - b;
      case '*':
        return a * b;
      case '/':
        return a / b;
      default:
        return unsupported();
    }
  } else {
    // A result the type cannot hold is an error, not undefined behaviour in the server.
    T out{};
    auto overflow = [&]() -> T {
      throw ValueError(std::string("OverflowError: the result of ") + op + "= does not fit in " +
                       type);
    };
    switch (op) {
      case '+':
        return __builtin_add_overflow(a, b, &out) ? overflow() : out;
      case '-':
        return __builtin_sub_overflow(a, b, &out) ? overflow() : out;
      case '*':
        return __builtin_mul_overflow(a, b, &out) ? overflow() : out;
      case '/':
      case '%':
        if (b == 0) throw ValueError("ZeroDivisionError: integer division or modulo by zero");
        if constexpr (std::is_signed_v<T>) {
          if (a == std::numeric_limits<T>::min() && b == T(-1)) return overflow();
        }
        return op == '/' ? static_cast<T>(a / b) : static_cast<T>(a % b);
      case '&':
        return static_cast<T>(a & b);
      case '|':
        return static_cast<T>(a | b);
      case '^':
        return static_cast<T>(a ^ b);
      default:
        return unsupported();
    }
  }
}

template <class T>
bool is(const TypeDesc& t) {
  return t.tag == type_tag<T>();
}

// Calls f(T{}) for the arithmetic type (or std::string) that `t` names; false when none.
template <class F>
bool with_type(const TypeDesc& t, F&& f) {
  auto try_one = [&]<class T>(T*) {
    if (!is<T>(t)) return false;
    f(static_cast<T*>(nullptr));
    return true;
  };
  return try_one(static_cast<int*>(nullptr)) || try_one(static_cast<long*>(nullptr)) ||
         try_one(static_cast<long long*>(nullptr)) || try_one(static_cast<double*>(nullptr)) ||
         try_one(static_cast<unsigned*>(nullptr)) ||
         try_one(static_cast<unsigned long*>(nullptr)) ||
         try_one(static_cast<unsigned long long*>(nullptr)) ||
         try_one(static_cast<float*>(nullptr)) || try_one(static_cast<short*>(nullptr)) ||
         try_one(static_cast<unsigned short*>(nullptr)) ||
         try_one(static_cast<signed char*>(nullptr)) ||
         try_one(static_cast<unsigned char*>(nullptr)) ||
         try_one(static_cast<std::string*>(nullptr));
}

}  // namespace

Bytes arithmetic(char op, const TypeDesc& type, const Bytes& a, const Bytes& b) {
  Bytes out;
  const bool known = with_type(type, [&]<class T>(T*) {
    out = encode(apply_op<T>(op, decode<T>(a), decode<T>(b), type.name));
  });
  if (!known) {
    throw TypeError("the manager does arithmetic on numbers and strings only, not on " + type.name);
  }
  return out;
}

Bytes zero_of(const TypeDesc& type) {
  Bytes out;
  const bool known = with_type(type, [&]<class T>(T*) { out = encode(T{}); });
  if (!known) {
    throw TypeError("increment needs a number or a string, not " + type.name);
  }
  return out;
}

}  // namespace mp::detail::manager
