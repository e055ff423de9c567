// mp/detail/task.hpp — a call to run in a pool worker, as bytes: which function, its state, its
// arguments; and the typed code (an invoker) that turns those bytes into the result's bytes.
//
// Callables travel as Python pickles functions, by reference where they can:
// - a function pointer by its code identity (mp/detail/code_ref.hpp: build id and offset), so
//   that a worker started by any method, forked or re-executed, finds the same function;
// - an empty function object (a captureless lambda) by its type alone: the worker makes one;
// - any other function object by its encoding, so it must be encodable (mp/codec.hpp): a
//   function object whose fields hold an address (a pointer, a view) is refused.
// Anything else, a lambda that captures (by reference or by value) above all, is refused at
// compile time with a message that says why. A function pointer travels as an address only as
// the callable; as an argument or a result it is data, and refused like any address.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "mp/codec.hpp"
#include "mp/detail/code_ref.hpp"

namespace mp::detail {

// The result of a void call, and the state of a callable that has none.
struct Unit {
  template <class A>
  void serialize(A&) {}
};

template <class F>
concept PoolCallable = (std::is_pointer_v<F> && std::is_function_v<std::remove_pointer_t<F>>) ||
                       (std::is_empty_v<F> && std::is_default_constructible_v<F>) || Encodable<F>;

// A lambda that captures, by reference or by value, is neither empty nor default constructible,
// so it is refused here; a function object whose fields hold an address is not Encodable.
template <class F>
constexpr void check_pool_callable() {
  if constexpr (!PoolCallable<F> && !std::is_empty_v<F> && std::is_default_constructible_v<F>) {
    check_encodable<F>();  // names the field type at fault (first: GCC stops after an error)
  }
  static_assert(PoolCallable<F>,
                "mp: a pool runs a function pointer, a captureless lambda, or a function object "
                "that is empty or encodable (a cereal serialize function): a lambda that "
                "captures cannot be sent to another process; bind values with "
                "mp::partial(f, values...) instead (mp/partial.hpp)");
}

// How F travels.
template <class F>
struct CallableWire {
  using type = F;  // an encodable function object: itself
  static const F& to(const F& f) { return f; }
  static F from(F w) { return w; }
};
template <class F>
requires(
    std::is_pointer_v<F>&& std::is_function_v<std::remove_pointer_t<F>>) struct CallableWire<F> {
  using type = CodeRef;
  static type to(F f) { return code_ref_of(f); }
  static F from(const type& w) { return resolve_function<std::remove_pointer_t<F>>(w); }
};
template <class F>
requires(!std::is_pointer_v<F> && std::is_empty_v<F> &&
         std::is_default_constructible_v<F>) struct CallableWire<F> {
  using type = Unit;
  static type to(const F&) { return {}; }
  static F from(Unit) { return F{}; }
};

template <class R>
using Returned = std::conditional_t<std::is_void_v<R>, Unit, R>;

template <class F, class... Args>
Returned<std::invoke_result_t<F&, Args&...>> call(F& f, std::tuple<Args...>& args) {
  if constexpr (std::is_void_v<std::invoke_result_t<F&, Args&...>>) {
    std::apply(f, args);
    return {};
  } else {
    return std::apply(f, args);
  }
}

// What map (f(item)) or starmap (f(item's elements...)) returns for one item.
template <class F, class Item, bool Star>
struct MapElement {
  using type = Returned<std::invoke_result_t<F&, Item&>>;
};
template <class F, class Item>
struct MapElement<F, Item, true> {
  using type = decltype(call(std::declval<F&>(), std::declval<Item&>()));
};

// Turns a task's bytes into its result's bytes; runs in the worker. Appends to `out`.
using Invoker = void (*)(std::span<const std::byte> in, std::vector<std::byte>& out);

// The bytes a pool task's encoding leaves free at its front, for the pool's own header (task id
// and invoker): written in place, the payload is never moved to make room.
inline constexpr std::size_t kTaskHeaderSpace = 24;

// One call f(args...).
template <class F, class... Args>
void invoke_call([[maybe_unused]] std::span<const std::byte> in,
                 [[maybe_unused]] std::vector<std::byte>& out) {
  if constexpr (PoolCallable<F>) {  // else refused by check_pool_callable
    using Wire = typename CallableWire<F>::type;
    auto [wire, args] = decode_payload<std::tuple<Wire, std::tuple<Args...>>>(in);
    F f = CallableWire<F>::from(std::move(wire));
    encode_payload_into(call(f, args), out);
  }
}

// The callable is checked by check_pool_callable; a refused one is not encoded, so that the only
// further errors are about the arguments. The encoding starts after `front` unused bytes.
template <class F, class... Args>
std::vector<std::byte> encode_call(const F& f, const std::tuple<Args...>& args,
                                   std::size_t front = 0) {
  std::vector<std::byte> out(front);
  if constexpr (!PoolCallable<F>) {
    check_encodable<std::tuple<Args...>>();
  } else {
    encode_payload_into(std::tuple<typename CallableWire<F>::type, std::tuple<Args...>>(
                            CallableWire<F>::to(f), args),
                        out);
  }
  return out;
}

// A chunk of map (f(x) for each x) or starmap (f(xs...) for each tuple xs).
template <class F, class Item, bool Star>
void invoke_chunk([[maybe_unused]] std::span<const std::byte> in,
                  [[maybe_unused]] std::vector<std::byte>& out) {
  if constexpr (PoolCallable<F>) {  // else refused by check_pool_callable
    using Wire = typename CallableWire<F>::type;
    auto [wire, items] = decode_payload<std::tuple<Wire, std::vector<Item>>>(in);
    F f = CallableWire<F>::from(std::move(wire));
    std::vector<typename MapElement<F, Item, Star>::type> results;
    results.reserve(items.size());
    for (auto& item : items) {
      if constexpr (Star) {
        results.push_back(call(f, item));
      } else {
        results.push_back(f(item));
      }
    }
    encode_payload_into(results, out);
  }
}

// A pool task: the encoding leaves kTaskHeaderSpace bytes free at its front.
template <class F, class Item>
std::vector<std::byte> encode_chunk(const F& f, std::vector<Item> items) {
  std::vector<std::byte> out(kTaskHeaderSpace);
  if constexpr (!PoolCallable<F>) {
    check_encodable<std::vector<Item>>();
  } else {
    encode_payload_into(std::tuple<typename CallableWire<F>::type, std::vector<Item>>(
                            CallableWire<F>::to(f), std::move(items)),
                        out);
  }
  return out;
}

}  // namespace mp::detail
