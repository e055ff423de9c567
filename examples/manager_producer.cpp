// A producer program: puts jobs into the joinable queue "jobs" of a manager served by another
// process (mp-manager, or a program's mp::Manager with an address), one "stop" per consumer,
// waits until every job is done, and prints what the consumers added up.
//
//   manager_producer ADDRESS AUTHKEY JOBS CONSUMERS
#include <mp/mp.hpp>

#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>

int main(int argc, char** argv) try {
  mp::freeze_support();
  if (argc != 5) {
    std::cerr << "usage: manager_producer ADDRESS AUTHKEY JOBS CONSUMERS\n";
    return 2;
  }
  auto manager = mp::Manager::connect(argv[1], argv[2]);
  auto jobs = manager.joinable_queue<std::string>("jobs");
  auto stats = manager.dict<std::string, long>("stats");
  const int n = std::atoi(argv[3]);
  for (int i = 1; i <= n; ++i) jobs.put(std::to_string(i));
  for (int c = std::atoi(argv[4]); c > 0; --c) jobs.put("stop");
  if (!jobs.join(std::chrono::seconds(120))) {
    std::cerr << "manager_producer: the jobs were not done within 120 s\n";
    return 1;
  }
  std::cout << "consumed " << stats.get("consumed", 0) << " jobs, sum of squares "
            << stats.get("sum_of_squares", 0) << std::endl;
} catch (const std::exception& e) {
  std::cerr << "manager_producer: " << e.what() << "\n";
  return 1;
}
