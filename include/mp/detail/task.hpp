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
#include <cstring>
#include <exception>
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

// As call, the arguments moved into f where it takes them so (a large argument by value is then
// not copied once more).
template <class F, class... Args>
auto call_moving(F& f, std::tuple<Args...>& args) {
  if constexpr (std::is_invocable_v<F&, Args&&...> &&
                std::is_same_v<std::invoke_result_t<F&, Args&&...>,
                               std::invoke_result_t<F&, Args&...>>) {
    if constexpr (std::is_void_v<std::invoke_result_t<F&, Args&&...>>) {
      std::apply(f, std::move(args));
      return Unit{};
    } else {
      return std::apply(f, std::move(args));
    }
  } else {
    return call(f, args);
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

// Where an invoker writes its result's encoding.
class ResultOut {
 public:
  using Encode = void (*)(const void* value, OutputArchive& ar);
  // A result, once its call has returned: `encode(value, ar)` writes its encoding (a pool
  // worker's goes straight into its result queue, a large one into shared memory directly).
  virtual void write(Encode encode, const void* value) = 0;
  // For results encoded while the calls run (a map chunk's): the vector to append them to.
  virtual std::vector<std::byte>& vector() = 0;

  // Whether the task's bytes are a large message's own mapping, whose pages may be given back
  // as they are decoded (decode_payload's release_read).
  bool task_in_body = false;

 protected:
  ~ResultOut() = default;
};

// Appends the result to a vector, either way.
class VectorResult final : public ResultOut {
 public:
  explicit VectorResult(std::vector<std::byte>& out) noexcept : out_(out) {}
  void write(Encode encode, const void* value) override {
    OutputArchive ar(out_);
    encode(value, ar);
  }
  std::vector<std::byte>& vector() override { return out_; }

 private:
  std::vector<std::byte>& out_;
};

// The bytes encode_payload_into(value) makes, as a ResultOut::Encode.
template <class T>
void encode_result(const void* value, OutputArchive& ar) {
  const T& v = *static_cast<const T*>(value);
  if constexpr (memcpy_encodable<T>) {
    ar.saveBinary(&v, sizeof(T));
  } else {
    ar(v);
  }
}

// Turns a task's bytes into its result's encoding; runs in the worker.
using Invoker = void (*)(std::span<const std::byte> in, ResultOut& out);

// The bytes a pool task's encoding leaves free at its front, for the pool's own header (task id
// and invoker): written in place, the payload is never moved to make room.
inline constexpr std::size_t kTaskHeaderSpace = 24;

// One call f(args...).
template <class F, class... Args>
void invoke_call([[maybe_unused]] std::span<const std::byte> in, [[maybe_unused]] ResultOut& out) {
  if constexpr (PoolCallable<F>) {  // else refused by check_pool_callable
    using Wire = typename CallableWire<F>::type;
    auto [wire, args] = decode_payload<std::tuple<Wire, std::tuple<Args...>>>(in, out.task_in_body);
    F f = CallableWire<F>::from(std::move(wire));
    using R = std::remove_cvref_t<decltype(call_moving(f, args))>;
    if constexpr (!Encodable<R>) {
      check_encodable<R>();
    } else {
      const R result = call_moving(f, args);
      out.write(&encode_result<R>, &result);
    }
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

// The same bytes as encode_call (without its front), written into `ar` from the callable and
// the arguments where they lie: a pool encodes a call straight into its task queue, so a large
// argument is neither copied into a tuple nor held encoded in a buffer of its own. (A tuple's
// encoding is its elements' in order.)
template <class F, class... Args>
void encode_call_into(OutputArchive& ar, const F& f, const Args&... args) {
  if constexpr (!PoolCallable<F> || !Encodable<std::tuple<Args...>>) {
    check_encodable<std::tuple<Args...>>();
  } else {
    ar(CallableWire<F>::to(f));
    (ar(args), ...);
  }
}

// A map chunk travels as the encoding of std::tuple<Wire, std::vector<Item>>, and its result as
// that of std::vector<E>. Where the elements are plain bytes (bulk_bytes_v,
// archive_containers.hpp), both ends work on those bytes in place: the caller encodes from its own
// items, the worker reads each item from the task's bytes and writes each result into the reply,
// the pool's thread copies a chunk's results straight into the caller's vector. Map's cost per item
// is these copies and nothing else; an intermediate vector per chunk cost more than the copies (a
// chunk's allocation, freed at the heap's top, was given back to the kernel and faulted in again).

// Reads a chunk's callable; `ar` is then at its items.
template <class F>
F read_chunk_callable(InputArchive& ar) {
  typename CallableWire<F>::type wire{};
  try {
    ar(wire);
  } catch (const ProtocolError&) {
    throw;
  } catch (const std::exception& e) {  // cereal::Exception, bad_alloc
    throw_bad_message(e.what());
  }
  return CallableWire<F>::from(std::move(wire));
}

// A chunk of map (f(x) for each x) or starmap (f(xs...) for each tuple xs).
template <class F, class Item, bool Star>
void invoke_chunk([[maybe_unused]] std::span<const std::byte> in, [[maybe_unused]] ResultOut& out) {
  if constexpr (PoolCallable<F>) {  // else refused by check_pool_callable
    using E = typename MapElement<F, Item, Star>::type;
    if constexpr (bulk_bytes_v<Item> && bulk_bytes_v<E>) {
      InputArchive ar(in);
      F f = read_chunk_callable<F>(ar);
      const std::size_t n = load_count<Item>(ar);
      const std::byte* items = ar.take(n * sizeof(Item));
      if (ar.remaining() != 0) throw_bad_message("trailing bytes after the value");
      OutputArchive oa(out.vector());
      save_count(oa, n);
      std::byte* results = oa.claim(n * sizeof(E));
      auto one = [&f](Item& item) -> E {
        if constexpr (Star) {
          return call(f, item);
        } else {
          return f(item);
        }
      };
      for (std::size_t i = 0; i < n; ++i) {
        Item item;
        std::memcpy(&item, items + i * sizeof(Item), sizeof(Item));
        const E r = one(item);
        std::memcpy(results + i * sizeof(E), &r, sizeof(E));
      }
    } else {
      using Wire = typename CallableWire<F>::type;
      auto [wire, items] =
          decode_payload<std::tuple<Wire, std::vector<Item>>>(in, out.task_in_body);
      F f = CallableWire<F>::from(std::move(wire));
      std::vector<E> results;
      results.reserve(items.size());
      for (auto&& item : items) {  // auto&&: vector<bool>'s elements are proxies
        if constexpr (Star) {
          results.push_back(call(f, item));
        } else {
          results.push_back(f(item));
        }
      }
      out.write(&encode_result<std::vector<E>>, &results);
    }
  }
}

// Appends a chunk's encoding to `out` (after whatever room the caller left at its front): the
// bytes of std::tuple<Wire, std::vector<Item>>, written from `items` where they are.
template <class F, class Item>
void encode_chunk_into(const F& f, std::span<const Item> items, std::vector<std::byte>& out) {
  if constexpr (!PoolCallable<F>) {
    check_encodable<std::vector<Item>>();
  } else if constexpr (!Encodable<std::vector<Item>>) {
    check_encodable<std::vector<Item>>();
  } else {
    OutputArchive ar(out);
    ar(CallableWire<F>::to(f));
    save_count(ar, items.size());
    if constexpr (bulk_bytes_v<Item>) {
      ar.saveBinary(items.data(), items.size_bytes());
    } else {
      for (const Item& item : items) save_element(ar, item);
    }
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

// Copies a chunk's results (the encoding of std::vector<E>, E plain bytes) into `into`, which
// must be as long as the chunk. Throws ProtocolError for anything else.
template <class E>
requires bulk_bytes_v<E>
void decode_chunk_results(std::span<const std::byte> bytes, std::span<E> into) {
  InputArchive ar(bytes);
  const std::size_t n = load_count<E>(ar);
  if (n != into.size()) throw ProtocolError("a map chunk came back short");
  const std::byte* p = ar.take(n * sizeof(E));
  if (ar.remaining() != 0) throw_bad_message("trailing bytes after the value");
  if (n != 0) std::memcpy(into.data(), p, n * sizeof(E));
}

}  // namespace mp::detail
