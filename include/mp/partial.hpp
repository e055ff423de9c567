// mp/partial.hpp — a callable with some of its arguments bound, that can still be sent to a
// worker (Python's functools.partial, which pickles):
//
//   int count_words(std::size_t min_len, const std::string& text);
//   pool.map(mp::partial(count_words, 3), texts);       // count_words(3, text) for each text
//   mp::PoolOptions{.initializer = mp::partial(setup, "config.toml")}
//
// The function is what a pool can send (a function pointer, a captureless lambda, an encodable
// function object; mp/detail/task.hpp) and the bound arguments are encodable values: a lambda
// that captures cannot be sent, and this is the way to fix a parameter instead.
#pragma once

#include <tuple>
#include <type_traits>
#include <utility>

#include "mp/detail/task.hpp"

namespace mp {

template <class F, class... Bound>
class Partial {
 public:
  Partial() = default;  // for decoding
  Partial(F f, Bound... bound) : f_(std::move(f)), bound_(std::move(bound)...) {}

  template <class... Rest>
  decltype(auto) operator()(Rest&&... rest) {
    return std::apply(
        [&](Bound&... b) -> decltype(auto) {
          return std::invoke(f_, b..., std::forward<Rest>(rest)...);
        },
        bound_);
  }

  template <class Archive>
  void save(Archive& ar) const {
    ar(detail::CallableWire<F>::to(f_), bound_);
  }
  template <class Archive>
  void load(Archive& ar) {
    typename detail::CallableWire<F>::type wire{};
    ar(wire, bound_);
    f_ = detail::CallableWire<F>::from(std::move(wire));
  }

 private:
  F f_{};
  std::tuple<Bound...> bound_;
};

template <class F, class... Args>
auto partial(F f, Args&&... args) {
  using Fn = std::decay_t<F>;
  detail::check_pool_callable<Fn>();
  static_assert((detail::require_encodable<std::decay_t<Args>>() && ...),
                "mp::partial binds encodable values only");
  return Partial<Fn, std::decay_t<Args>...>(std::move(f), std::forward<Args>(args)...);
}

}  // namespace mp
