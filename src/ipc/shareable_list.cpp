#include "mp/shareable_list.hpp"

#include <algorithm>
#include <limits>
#include <ostream>
#include <stdexcept>

namespace mp::detail {

namespace {

constexpr char kMagic[8] = {'m', 'p', 'S', 'L', 'I', 'S', 'T', '1'};
constexpr std::size_t kNameBytes = 88;

struct Header {
  char magic[8];
  std::uint64_t tag;
  std::uint64_t count;
  std::uint64_t element_size;  // 0: string slots
  std::uint64_t data_offset;   // of the elements, or of the slot table
  char type_name[kNameBytes];  // NUL-terminated (cut short if need be)
};
static_assert(sizeof(Header) == 128);

std::size_t round_up(std::size_t n, std::size_t to) {
  return (n + to - 1) / to * to;
}

Header& header_of(const SharedMemory& shm) {
  return *reinterpret_cast<Header*>(shm.buf().data());
}

void write_header(const SharedMemory& shm, const ListBlock::Element& e, std::size_t count,
                  std::size_t data_offset) {
  Header& h = header_of(shm);
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.tag = e.tag;
  h.count = count;
  h.element_size = e.size;
  h.data_offset = data_offset;
  const std::size_t n = std::min(e.name.size(), kNameBytes - 1);
  std::memcpy(h.type_name, e.name.data(), n);
  h.type_name[n] = '\0';
}

[[noreturn]] void malformed(const SharedMemory& shm) {
  throw ValueError("the shared memory block '" + shm.name() + "' holds no valid ShareableList");
}

}  // namespace

ListBlock ListBlock::create(const Element& e, std::size_t count, std::string name) {
  const std::size_t data_offset = round_up(sizeof(Header), std::max<std::size_t>(e.align, 8));
  if (count > (std::numeric_limits<std::size_t>::max() - data_offset) / e.size) {
    throw ValueError("a ShareableList of " + std::to_string(count) + " elements is too large");
  }
  SharedMemory shm = SharedMemory::create(data_offset + count * e.size, std::move(name));
  write_header(shm, e, count, data_offset);
  return adopt(std::move(shm), e);
}

ListBlock ListBlock::create_strings(const Element& e, const std::vector<std::size_t>& lengths,
                                    std::string name) {
  const std::size_t count = lengths.size();
  const std::size_t table = sizeof(Header);
  std::size_t end = table + count * sizeof(Slot);
  std::vector<Slot> slots(count);
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t capacity = std::max<std::size_t>(8, round_up(lengths[i], 8));
    if (capacity > std::numeric_limits<std::uint32_t>::max()) {
      throw ValueError("a ShareableList string is limited to 4 GiB");
    }
    slots[i] = {end, static_cast<std::uint32_t>(capacity), 0};
    end += capacity;
  }
  SharedMemory shm = SharedMemory::create(end, std::move(name));
  write_header(shm, e, count, table);
  if (count != 0) std::memcpy(shm.buf().data() + table, slots.data(), count * sizeof(Slot));
  return adopt(std::move(shm), e);
}

ListBlock ListBlock::adopt(SharedMemory shm, const Element& e) {
  const std::size_t size = shm.size();
  if (size < sizeof(Header)) malformed(shm);
  // A copy: another process may write the header while it is checked.
  const Header h = header_of(shm);
  if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0) malformed(shm);
  if (h.tag != e.tag) {
    const std::string theirs(h.type_name, strnlen(h.type_name, kNameBytes));
    throw TypeError("the ShareableList '" + shm.name() + "' holds " + theirs + ", not " + e.name);
  }
  const std::size_t each = e.size == 0 ? sizeof(Slot) : e.size;
  if (h.element_size != e.size || h.data_offset < sizeof(Header) || h.data_offset > size ||
      h.data_offset % std::max<std::size_t>(e.align, 8) != 0 ||
      h.count > (size - h.data_offset) / each) {
    malformed(shm);
  }
  ListBlock b;
  b.count_ = h.count;
  b.offset_ = h.data_offset;
  b.shm_ = std::move(shm);
  return b;
}

ListBlock::Slot ListBlock::checked_slot(std::size_t i) const {
  check_index(i);
  const Slot s = slots()[i];  // a copy: another process may write the slot while it is used
  const std::size_t size = shm_.size();
  if (s.offset > size || s.capacity > size - s.offset) malformed(shm_);
  return s;
}

std::string_view ListBlock::text(std::size_t i) const {
  const Slot s = checked_slot(i);
  if (s.length > s.capacity) malformed(shm_);
  return {reinterpret_cast<const char*>(shm_.buf().data() + s.offset), s.length};
}

void ListBlock::assign(std::size_t i, std::string_view value) const {
  const Slot s = checked_slot(i);
  if (value.size() > s.capacity) {
    throw ValueError("a string of " + std::to_string(value.size()) +
                     " bytes does not fit ShareableList slot " + std::to_string(i) + " (" +
                     std::to_string(s.capacity) + " bytes, fixed at creation)");
  }
  std::memcpy(shm_.buf().data() + s.offset, value.data(), value.size());
  slots()[i].length = static_cast<std::uint32_t>(value.size());
}

std::ostream& write_to(std::ostream& os, std::string_view s) {
  return os << s;
}

void ListBlock::check_index(std::size_t i) const {
  if (i >= count_) {
    throw std::out_of_range("ShareableList index " + std::to_string(i) + " out of range (size " +
                            std::to_string(count_) + ")");
  }
}

}  // namespace mp::detail
