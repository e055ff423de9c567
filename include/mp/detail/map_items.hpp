// mp/detail/map_items.hpp — the items of a map (Pool::map and kin, the executor's map), cut into
// chunks as they are submitted.
#pragma once

#include <cstddef>
#include <iterator>
#include <ranges>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

namespace mp::detail {

// A caller's contiguous range of Item, passed as an lvalue, is read in place: each chunk copies
// its items once. Anything else (a view, a list, another element type, a temporary) is first
// copied or moved into a vector of its own, whose chunks then move their items out.
template <class Item>
class MapItems {
 public:
  template <class Range>
  explicit MapItems(Range&& xs) {
    using R = std::remove_reference_t<Range>;
    if constexpr (std::is_lvalue_reference_v<Range> && std::ranges::contiguous_range<R> &&
                  std::ranges::sized_range<R> &&
                  std::is_same_v<std::ranges::range_value_t<R>, Item>) {
      borrowed_ = std::span<const Item>(std::ranges::data(xs), std::ranges::size(xs));
      is_borrowed_ = true;
    } else {
      if constexpr (std::ranges::sized_range<R>) owned_.reserve(std::ranges::size(xs));
      for (auto&& x : xs) owned_.push_back(static_cast<Item>(std::forward<decltype(x)>(x)));
    }
  }

  std::size_t size() const noexcept { return is_borrowed_ ? borrowed_.size() : owned_.size(); }

  // Whether view() can be had: all but vector<bool>'s packed bits.
  static constexpr bool viewable = !std::is_same_v<Item, bool>;

  // Items [begin, end), where they lie: a chunk is encoded from them without a copy first.
  std::span<const Item> view(std::size_t begin, std::size_t end) const requires viewable {
    if (is_borrowed_) return borrowed_.subspan(begin, end - begin);
    return std::span<const Item>(owned_).subspan(begin, end - begin);
  }

  // Items [begin, end), each taken once.
  std::vector<Item> take(std::size_t begin, std::size_t end) {
    if (is_borrowed_) return std::vector<Item>(borrowed_.begin() + begin, borrowed_.begin() + end);
    return std::vector<Item>(std::make_move_iterator(owned_.begin() + begin),
                             std::make_move_iterator(owned_.begin() + end));
  }

 private:
  std::vector<Item> owned_;
  std::span<const Item> borrowed_;
  bool is_borrowed_ = false;
};

}  // namespace mp::detail
