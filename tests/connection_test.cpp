// tests/connection_test.cpp — Pipe, Connection, wait, Listener and Client.
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "mp/connection.hpp"
#include "mp/process.hpp"
#include "support/leak_check.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class ConnectionTest : public mp::testing::LeakCheckedTest {};

std::vector<std::byte> bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()),
          reinterpret_cast<const std::byte*>(s.data()) + s.size()};
}

TEST_F(ConnectionTest, PipeCarriesValuesBetweenProcesses) {
  auto [parent, child] = mp::Pipe();
  mp::Process p([c = child]() mutable {
    c.send(std::string("Hello from child process"));
    auto n = c.recv<int>();
    c.send(std::vector<int>{n, n * 2});
    c.close();
  });
  p.start();
  child.close();
  EXPECT_EQ(parent.recv<std::string>(), "Hello from child process");
  parent.send(21);
  EXPECT_EQ(parent.recv<std::vector<int>>(), (std::vector<int>{21, 42}));
  EXPECT_THROW(parent.recv<int>(), mp::EOFError);  // the child closed its end and exited
  ASSERT_TRUE(p.join(10s));
  EXPECT_EQ(p.exitcode(), 0);
}

TEST_F(ConnectionTest, WrongTypeIsProtocolError) {
  auto [a, b] = mp::Pipe();
  a.send(std::string("text"));
  EXPECT_THROW(b.recv<double>(), mp::ProtocolError);
  a.send(1.5);  // the bad message was consumed: the next one reads fine
  EXPECT_EQ(b.recv<double>(), 1.5);
}

TEST_F(ConnectionTest, BytesAndBufferTooShort) {
  auto [a, b] = mp::Pipe();
  a.send_bytes(bytes_of("abcdef"));
  EXPECT_EQ(b.recv_bytes(), bytes_of("abcdef"));
  a.send_bytes(std::string_view("0123456789"));
  std::vector<std::byte> small(4);
  try {
    b.recv_bytes_into(small);
    ADD_FAILURE() << "no BufferTooShort";
  } catch (const mp::BufferTooShort& e) {
    EXPECT_EQ(e.message(), bytes_of("0123456789"));  // nothing lost
  }
  a.send_bytes(bytes_of("xyz"));
  std::vector<std::byte> big(16);
  EXPECT_EQ(b.recv_bytes_into(big), 3u);
  a.send_bytes(std::span<const std::byte>());
  EXPECT_TRUE(b.recv_bytes().empty());
}

TEST_F(ConnectionTest, PollIsTimed) {
  auto [a, b] = mp::Pipe();
  EXPECT_FALSE(b.poll());
  auto t0 = Clock::now();
  EXPECT_FALSE(b.poll(100ms));
  auto took = Clock::now() - t0;
  EXPECT_GE(took, 99ms);
  EXPECT_LE(took, 150ms);
  a.send(1);
  EXPECT_TRUE(b.poll(1s));
  a.close();
  EXPECT_TRUE(b.poll());  // a message, then EOF
  EXPECT_EQ(b.recv<int>(), 1);
  EXPECT_TRUE(b.poll());
  EXPECT_THROW(b.recv<int>(), mp::EOFError);
}

TEST_F(ConnectionTest, SendingToAClosedPeerIsAnErrorNotSigpipe) {
  auto [a, b] = mp::Pipe();
  b.close();
  try {
    for (int i = 0; i < 100; ++i) a.send(std::string(1000, 'x'));
    ADD_FAILURE() << "sending to a closed peer succeeded";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EPIPE);
  }
}

TEST_F(ConnectionTest, OneWayPipeAndClosedMisuse) {
  auto [r, w] = mp::Pipe(false);
  EXPECT_TRUE(r.readable());
  EXPECT_FALSE(r.writable());
  EXPECT_FALSE(w.readable());
  EXPECT_THROW(r.send(1), mp::ValueError);
  EXPECT_THROW(w.recv<int>(), mp::ValueError);
  w.send(5);
  EXPECT_EQ(r.recv<int>(), 5);
  r.close();
  EXPECT_TRUE(r.closed());
  EXPECT_THROW(r.fileno(), mp::ValueError);
  EXPECT_THROW(r.recv<int>(), mp::ValueError);
}

TEST_F(ConnectionTest, SixtyFourMebibyteMessages) {
  auto [a, b] = mp::Pipe();
  std::string big(64 << 20, '\0');
  for (std::size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>(i / 4096);
  mp::Process p([c = a, big]() mutable {
    c.send(big);
    c.send(c.recv<std::string>());  // echo
  });
  p.start();
  std::string got = b.recv<std::string>();
  EXPECT_EQ(got, big);
  b.send(got);
  EXPECT_EQ(b.recv<std::string>(), big);
  ASSERT_TRUE(p.join(30s));
}

TEST_F(ConnectionTest, OversizedFrameIsRefusedWithoutAllocating) {
  auto [a, b] = mp::Pipe();
  b.set_max_message_size(1024);
  a.send(std::string(2048, 'x'));
  EXPECT_THROW(b.recv_bytes(), mp::ProtocolError);
  // A raw header that promises 2^60 bytes and then ends: EOF, no giant allocation.
  auto [c, d] = mp::Pipe();
  std::uint64_t lie = std::uint64_t{1} << 60;
  ASSERT_EQ(::write(c.fileno(), &lie, sizeof lie), 8);
  c.close();
  EXPECT_THROW(d.recv_bytes(), mp::EOFError);
}

TEST_F(ConnectionTest, WaitReturnsTheReadyOnes) {
  auto [a1, b1] = mp::Pipe();
  auto [a2, b2] = mp::Pipe();
  mp::Process p([] { std::this_thread::sleep_for(30s); });
  p.start();
  auto t0 = Clock::now();
  EXPECT_TRUE(mp::connection::wait({&b1, &b2, &p}, 100ms).empty());
  EXPECT_LE(Clock::now() - t0, 150ms);
  a2.send(1);
  auto ready = mp::connection::wait({&b1, &b2, &p});
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].connection(), &b2);
  p.terminate();
  ready = mp::connection::wait({&b1, &p}, 10s);
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].process(), &p);
  p.join();
  ready = mp::connection::wait({b2.fileno()}, 0ms);
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].fd(), b2.fileno());
}

TEST_F(ConnectionTest, ListenerAndClientOverTcp) {
  mp::Listener server("127.0.0.1:0", "secret");
  ASSERT_NE(server.address(), "127.0.0.1:0");
  mp::Process p([address = server.address()] {
    auto c = mp::Client(address, "secret");
    c.send(std::string("ping"));
    std::exit(c.recv<std::string>() == "pong" ? 0 : 1);
  });
  p.start();
  auto conn = server.accept(10s);
  EXPECT_EQ(conn.recv<std::string>(), "ping");
  conn.send(std::string("pong"));
  ASSERT_TRUE(p.join(10s));
  EXPECT_EQ(p.exitcode(), 0);
}

TEST_F(ConnectionTest, UnixListenerIsPrivateAndRemovedOnClose) {
  std::string path = "/tmp/mp-test-" + std::to_string(::getpid()) + ".sock";
  {
    mp::Listener server(path, "k");
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    std::thread t([&] { mp::Client(path, "k").send(7); });
    auto c = server.accept(10s);
    EXPECT_EQ(c.recv<int>(), 7);
    t.join();
  }
  struct stat st {};
  EXPECT_NE(::stat(path.c_str(), &st), 0);
}

TEST_F(ConnectionTest, WrongKeyIsRefusedAndTheListenerKeepsServing) {
  mp::Listener server("127.0.0.1:0", "right");
  std::thread bad(
      [&] { EXPECT_THROW(mp::Client(server.address(), "wrong"), mp::AuthenticationError); });
  std::thread good([&] {
    bad.join();  // the bad client goes first
    auto c = mp::Client(server.address(), "right");
    c.send(std::string("ok"));
  });
  auto conn = server.accept(20s);
  EXPECT_EQ(conn.recv<std::string>(), "ok");
  good.join();
  EXPECT_EQ(server.rejected(), 1u);
}

TEST_F(ConnectionTest, MalformedHandshakesAreDropped) {
  mp::Listener server("127.0.0.1:0", "key");
  server.set_handshake_timeout(300ms);
  std::thread clients([&] {
    auto raw = [&](auto&& act) {
      auto c = mp::Client(server.address());  // no key: a raw connection
      act(c.fileno());
      std::this_thread::sleep_for(50ms);
    };
    raw([](int fd) {
      std::uint64_t lie = 1ull << 40;
      (void)::write(fd, &lie, 8);
    });                                                                      // oversized
    raw([](int fd) { (void)::write(fd, "garbage!garbage!garbage!", 24); });  // malformed
    raw([](int) {});                                                         // silent
    auto c = mp::Client(server.address(), "key");
    c.send(1);
  });
  auto conn = server.accept(20s);
  EXPECT_EQ(conn.recv<int>(), 1);
  clients.join();
  EXPECT_EQ(server.rejected(), 3u);
}

TEST_F(ConnectionTest, NothingListeningIsASystemError) {
  EXPECT_THROW(mp::Client("/tmp/mp-test-nobody-here.sock"), std::system_error);
  mp::Listener server("127.0.0.1:0");
  EXPECT_THROW(server.accept(50ms), mp::TimeoutError);
}

}  // namespace
