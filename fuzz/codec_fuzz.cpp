// fuzz/codec_fuzz.cpp — libFuzzer target: arbitrary bytes into the codec's decoder.
// The decoder must throw ProtocolError or return a value; it must never crash, read out of
// bounds (ASan), hit undefined behaviour (UBSan) or allocate beyond the input's size.
#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

#include "mp/codec.hpp"

namespace {

struct Point {
  int x;
  double y;
};

struct Record {
  std::string name;
  std::vector<std::variant<int, std::string, Point>> items;
  std::optional<std::map<std::string, std::set<int>>> index;
  bool flag = false;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(name, items, index, flag);
  }
};

// Large in memory, small on the wire: its vectors are made as their bytes arrive.
struct Sparse {
  char pad[4096] = {};
  int id = 0;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(id);
  }
};

struct Tree {
  std::vector<Tree> children;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(children);
  }
};

template <class T>
void try_decode(std::span<const std::byte> bytes) {
  try {
    (void)mp::decode<T>(bytes);
  } catch (const mp::ProtocolError&) {
  }
}

// The fuzzer's bytes follow a valid tag for the chosen type, so it reaches the payload decoder.
template <class T>
void fuzz_payload(const std::uint8_t* data, std::size_t size) {
  auto message = mp::encode(T{});
  message.resize(8);
  const auto* p = reinterpret_cast<const std::byte*>(data);
  message.insert(message.end(), p, p + size);
  try_decode<T>(message);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t which = data[0];
  ++data;
  --size;
  switch (which % 11) {
    case 0:
      fuzz_payload<Record>(data, size);
      break;
    case 1:
      fuzz_payload<std::vector<Record>>(data, size);
      break;
    case 2:
      fuzz_payload<Tree>(data, size);
      break;
    case 3:
      fuzz_payload<std::tuple<std::string, std::vector<double>, bool>>(data, size);
      break;
    case 4:
      fuzz_payload<std::map<int, std::vector<std::string>>>(data, size);
      break;
    // The container fast paths (mp/detail/archive_containers.hpp).
    case 5:
      fuzz_payload<std::unordered_map<std::string, int>>(data, size);
      break;
    case 6:
      fuzz_payload<std::vector<Point>>(data, size);
      break;
    case 7:
      fuzz_payload<std::vector<std::array<short, 3>>>(data, size);
      break;
    case 8:
      fuzz_payload<std::unordered_set<std::string>>(data, size);
      break;
    case 9:
      fuzz_payload<std::vector<Sparse>>(data, size);
      break;
    default:  // the raw bytes, tag included
      try_decode<Record>({reinterpret_cast<const std::byte*>(data), size});
  }
  return 0;
}
