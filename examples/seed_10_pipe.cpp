// Seed problem 10: using Pipe for communication (examples/python/seed_10_pipe.py).
#include <mp/mp.hpp>

#include <iostream>
#include <string>

void send_msg(mp::Connection conn) {
  conn.send(std::string("Hello from child process"));
  conn.close();
}

int main() {
  auto [parent_conn, child_conn] = mp::Pipe();
  mp::Process p(send_msg, child_conn);

  p.start();
  std::cout << parent_conn.recv<std::string>() << std::endl;
  p.join();
}
