// bench/codec_benchmark.cpp — mp's codec against pickle; twin: codec_bench.py.
// One operation is an encode plus a decode of the whole value, the work a Queue put + get or a
// Connection send + recv does besides moving the bytes. Encoding reuses one buffer, as a channel
// reuses its thread's buffer; decoding builds a fresh value, as a receiver does.
#include <benchmark/benchmark.h>

#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "mp/codec.hpp"

namespace {

// The same values as codec_bench.py builds.
std::unordered_map<std::string, int> word_counts() {
  std::unordered_map<std::string, int> m;
  for (int i = 0; i < 5000; ++i) m.emplace("word" + std::to_string(i), i);
  return m;
}

std::vector<std::string> short_strings() {
  std::vector<std::string> v;
  for (int i = 0; i < 10'000; ++i) v.push_back("item-" + std::to_string(i));
  return v;
}

struct Record {  // Python twin: a tuple (int, float, str, list[int])
  int id = 0;
  double score = 0;
  std::string name;
  std::vector<int> values;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(id, score, name, values);
  }
};

std::vector<Record> records() {
  std::vector<Record> v;
  for (int i = 0; i < 1000; ++i)
    v.push_back({i, i * 0.5, "record-" + std::to_string(i), {i, i + 1, i + 2, i + 3, i + 4}});
  return v;
}

std::vector<double> doubles() {
  std::vector<double> v(1'000'000);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i) * 0.25;
  return v;
}

template <class T>
void round_trip(benchmark::State& state, const T& value) {
  std::vector<std::byte> buf;
  for (auto _ : state) {
    buf.clear();
    mp::encode_into(value, buf);
    T back = mp::decode<T>(buf);
    benchmark::DoNotOptimize(back);
  }
}

void map_mp(benchmark::State& state) {
  round_trip(state, word_counts());
}
// The floor under map_mp: building (reserved) and destroying the same map from keys already in
// memory, with no codec at all. Hashing and a node allocation per entry dominate both.
void map_raw_build(benchmark::State& state) {
  const auto source = word_counts();
  const std::vector<std::pair<std::string, int>> entries(source.begin(), source.end());
  for (auto _ : state) {
    std::unordered_map<std::string, int> m;
    m.reserve(entries.size());
    for (const auto& [key, value] : entries) m.emplace(key, value);
    benchmark::DoNotOptimize(m);
  }
}

void strings_mp(benchmark::State& state) {
  round_trip(state, short_strings());
}
void records_mp(benchmark::State& state) {
  round_trip(state, records());
}
void doubles_mp(benchmark::State& state) {
  round_trip(state, doubles());
}

}  // namespace

BENCHMARK(map_mp)->Name("codec_map_str_int_5000/mp")->UseRealTime();
BENCHMARK(map_raw_build)->Name("codec_map_str_int_5000/raw_build_map")->UseRealTime();
BENCHMARK(strings_mp)->Name("codec_vector_str_10000/mp")->UseRealTime();
BENCHMARK(records_mp)->Name("codec_records_1000/mp")->UseRealTime();
BENCHMARK(doubles_mp)->Name("codec_vector_double_1m/mp")->UseRealTime();
