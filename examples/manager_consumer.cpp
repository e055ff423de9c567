// A consumer program: takes jobs from the joinable queue "jobs" of a manager served by another
// process until it gets "stop", and adds each job's square to the dict "stats" (atomic on the
// server, however many consumers run).
//
//   manager_consumer ADDRESS AUTHKEY
#include <mp/mp.hpp>

#include <exception>
#include <iostream>
#include <string>

int main(int argc, char** argv) try {
  mp::freeze_support();
  if (argc != 3) {
    std::cerr << "usage: manager_consumer ADDRESS AUTHKEY\n";
    return 2;
  }
  auto manager = mp::Manager::connect(argv[1], argv[2]);
  auto jobs = manager.joinable_queue<std::string>("jobs");
  auto stats = manager.dict<std::string, long>("stats");
  long done = 0;
  for (;;) {
    const std::string job = jobs.get(std::chrono::seconds(120));
    if (job != "stop") {
      const long x = std::stol(job);
      stats.increment("sum_of_squares", x * x);
      stats.increment("consumed");
      ++done;
    }
    jobs.task_done();
    if (job == "stop") break;
  }
  std::cout << "consumed " << done << " jobs" << std::endl;
} catch (const std::exception& e) {
  std::cerr << "manager_consumer: " << e.what() << "\n";
  return 1;
}
