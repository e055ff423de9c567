// bench/support/paired.hpp — an mp case and its baseline measured in alternation, in one case.
//
// On a shared virtual machine a two-process timing moves by 1.5× and more between runs (where the
// host places the virtual CPUs changes from minute to minute), so an mp row and its baseline
// measured seconds apart can differ by more than the gap between them. A paired case runs a batch
// of each in every iteration, in alternating order (mp first, then the baseline first), so both
// see the same placement; it reports each side's median time per operation as counters `mp_s`
// and `base_s`, and `ratio`, the median of the iterations' mp / baseline ratios. Name such a case
// "<group>_paired/<baseline>": bench/run.py shows it as the group's two rows, mp and <baseline>.
#pragma once

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <vector>

namespace mp::bench {

template <class Mp, class Base>
void run_paired(benchmark::State& state, Mp&& mp_batch, Base&& base_batch, int ops) {
  using clock = std::chrono::steady_clock;
  std::vector<double> mine, base, ratios;
  auto timed = [](auto& batch) {
    const auto start = clock::now();
    batch();
    return std::chrono::duration<double>(clock::now() - start).count();
  };
  bool mp_first = true;
  for (auto _ : state) {
    double m, b;
    if (mp_first) {
      m = timed(mp_batch);
      b = timed(base_batch);
    } else {
      b = timed(base_batch);
      m = timed(mp_batch);
    }
    mp_first = !mp_first;
    state.SetIterationTime(m + b);
    mine.push_back(m / ops);
    base.push_back(b / ops);
    ratios.push_back(m / b);
  }
  auto median = [](std::vector<double>& v) {
    if (v.empty()) return 0.0;
    std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
    return v[v.size() / 2];
  };
  state.counters["mp_s"] = median(mine);
  state.counters["base_s"] = median(base);
  state.counters["ratio"] = median(ratios);
}

}  // namespace mp::bench
