// tests/connection_test.cpp — Pipe, Connection, wait, Listener and Client. Every test with a
// child runs under each start method.
//
// Every wait is bounded: a recv comes after a poll(timeout), a join has a timeout, clients that
// might block run in child processes (killable, joined with a timeout), and orderings between
// processes are decided by messages, never by sleeps.
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "mp/connection.hpp"
#include "mp/process.hpp"
#include "support/leak_check.hpp"
#include "support/methods.hpp"
#include "support/peak_memory.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Tests without a child process.
class ConnectionTest : public mp::testing::LeakCheckedTest {};

// Tests whose children receive their connections (or the address to connect to) as arguments,
// under every start method. A forked child also inherits every descriptor of the parent, the
// parent's ends of its pipes among them; children that must let the parent see EOF, or see it
// themselves, are given the parent's end too and close it (under spawn and forkserver that
// closes the copy they were given, which nothing else holds).
class ConnectionProcessTest : public mp::testing::MethodTest {};
MP_INSTANTIATE_FOR_EVERY_METHOD(ConnectionProcessTest);

std::vector<std::byte> bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()),
          reinterpret_cast<const std::byte*>(s.data()) + s.size()};
}

// How a client child process ended: exit codes.
constexpr int kClientOk = 0;
constexpr int kClientAuthFailed = 3;
constexpr int kClientOtherError = 4;

// A child's target: connects with `key`, sends "hello" and waits for "bye" (so the server has
// read the message before the child goes). Exits with one of the codes above.
void hello_client(std::string address, std::string key) {
  int rc = kClientOtherError;
  try {
    auto c = mp::Client(address, key);
    c.send(std::string("hello"));
    rc = c.poll(30s) && c.recv<std::string>() == "bye" ? kClientOk : kClientOtherError;
  } catch (const mp::AuthenticationError&) {
    rc = kClientAuthFailed;
  } catch (...) {
    rc = kClientOtherError;
  }
  std::exit(rc);
}

// 64 MiB, different in every page.
std::string big_message() {
  std::string big(64 << 20, '\0');
  for (std::size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>(i / 4096);
  return big;
}

TEST_P(ConnectionProcessTest, PipeCarriesValuesBetweenProcesses) {
  auto [parent, child] = mp::Pipe();
  auto p = ctx().Process(
      [](mp::Connection c, mp::Connection other) {
        other.close();  // the child's copy of the parent's end: else EOF could never come
        c.send(std::string("Hello from child process"));
        if (!c.poll(30s)) std::exit(2);
        auto n = c.recv<int>();
        c.send(std::vector<int>{n, n * 2});
        c.close();
      },
      child, parent);
  p.start();
  child.close();
  ASSERT_TRUE(parent.poll(30s));
  EXPECT_EQ(parent.recv<std::string>(), "Hello from child process");
  parent.send(21);
  ASSERT_TRUE(parent.poll(30s));
  EXPECT_EQ(parent.recv<std::vector<int>>(), (std::vector<int>{21, 42}));
  ASSERT_TRUE(parent.poll(30s));
  EXPECT_THROW(parent.recv<int>(), mp::EOFError);  // the child closed its end and exited
  ASSERT_TRUE(p.join(30s));
  EXPECT_EQ(p.exitcode(), 0);
}

TEST_P(ConnectionProcessTest, ChildSeesEofWhenTheParentClosesItsEnd) {
  auto [parent, child] = mp::Pipe();
  auto p = ctx().Process(
      [](mp::Connection c, mp::Connection other) {
        other.close();
        int count = 0;
        try {
          for (;;) {
            if (!c.poll(30s)) std::exit(2);  // no EOF in time
            count += c.recv<int>();
          }
        } catch (const mp::EOFError&) {
          std::exit(count == 6 ? 0 : 3);
        }
      },
      child, parent);
  p.start();
  child.close();
  for (int i = 1; i <= 3; ++i) parent.send(i);
  parent.close();  // the only other copy of this end: the child's recv now ends in EOFError
  ASSERT_TRUE(p.join(30s));
  EXPECT_EQ(p.exitcode(), 0);
}

TEST_F(ConnectionTest, WrongTypeIsProtocolErrorAndTheConnectionStaysInStep) {
  auto [a, b] = mp::Pipe();
  a.send(std::string("text"));
  a.send(1.5);
  EXPECT_THROW(b.recv<double>(), mp::ProtocolError);
  EXPECT_EQ(b.recv<double>(), 1.5);  // the bad message was consumed whole: the next reads fine
  a.send(std::string("a string, not an int"));
  a.send(42);
  EXPECT_THROW(b.recv<int>(), mp::ProtocolError);
  EXPECT_EQ(b.recv<int>(), 42);
  EXPECT_TRUE(b.readable());
  EXPECT_FALSE(b.poll());  // nothing left over
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
  EXPECT_GE(took, 100ms);
  EXPECT_LE(took, 100ms + 5s);
  a.send(1);
  EXPECT_TRUE(b.poll(10s));
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

TEST_P(ConnectionProcessTest, SixtyFourMebibyteMessages) {
  auto [a, b] = mp::Pipe();
  const std::string big = big_message();
  auto p = ctx().Process(
      [](mp::Connection c, mp::Connection other) {
        other.close();
        c.send(big_message());
        if (!c.poll(60s)) std::exit(2);
        c.send(c.recv<std::string>());  // echo
      },
      a, b);
  p.start();
  a.close();
  ASSERT_TRUE(b.poll(60s));
  std::string got = b.recv<std::string>();
  EXPECT_EQ(got, big);
  b.send(got);
  EXPECT_LE(mp::detail::encode_buffer().capacity(), mp::detail::kKeptEncodeBuffer)
      << "one large send must not keep its 64 MiB encoding buffer";
  ASSERT_TRUE(b.poll(60s));
  EXPECT_EQ(b.recv<std::string>(), big);
  ASSERT_TRUE(p.join(60s));
  EXPECT_EQ(p.exitcode(), 0);
}

TEST_P(ConnectionProcessTest, LargeMessageCostsEachSideAboutItsSizeInPeakMemory) {
  if (!mp::testing::kPeaksMeanSomething) GTEST_SKIP() << "shadow memory (ThreadSanitizer)";
  // The sender encodes into its buffer (the message once); the receiver reads the frame into
  // memory it gives back as it decodes: its peak rises by about the decoded value, not twice.
  constexpr std::size_t kDoubles = std::size_t{8} << 20;  // 64 MiB
  auto [a, b] = mp::Pipe();
  auto [ra, rb] = mp::Pipe();
  auto receiver = ctx().Process(
      [](mp::Connection in, mp::Connection report) {
        const double base = mp::testing::reset_peak_resident();
        const auto v = in.recv<std::vector<double>>();
        const double rise = mp::testing::peak_rise(base);
        const bool intact =
            v.size() == kDoubles && v[12345] == 12345.0 && v.back() == kDoubles - 1.0;
        report.send(base < 0 ? -1.0 : intact ? rise : -2.0);
      },
      a, rb);
  auto sender = ctx().Process(
      [](mp::Connection out, mp::Connection report) {
        std::vector<double> v(kDoubles);
        for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i);
        const double base = mp::testing::reset_peak_resident();
        out.send(v);
        report.send(base < 0 ? -1.0 : mp::testing::peak_rise(base));
      },
      b, rb);
  receiver.start();
  sender.start();
  double rises[2] = {};
  for (double& r : rises) {
    ASSERT_TRUE(ra.poll(60s)) << "a child did not report";
    r = ra.recv<double>();
  }
  ASSERT_TRUE(sender.join(60s));
  ASSERT_TRUE(receiver.join(60s));
  EXPECT_EQ(sender.exitcode(), 0);
  EXPECT_EQ(receiver.exitcode(), 0);
  if (rises[0] == -1.0 || rises[1] == -1.0) GTEST_SKIP() << "this kernel cannot reset a peak";
  constexpr double kMessage = kDoubles * sizeof(double);
  constexpr double kSlack = 16 << 20;  // libraries, stacks, a sanitizer's shadow
  for (double r : rises) {
    ASSERT_NE(r, -2.0) << "the message arrived damaged";
    EXPECT_LE(r, 1.25 * kMessage + kSlack) << "rose by " << r / kMessage << " times the message";
  }
}

TEST_F(ConnectionTest, LargeMessageOfAnotherTypeLeavesTheConnectionInStep) {
  // Received into memory of its own, then refused by its tag: the next message still arrives.
  auto [a, b] = mp::Pipe();
  std::thread sender([c = b]() mutable {
    c.send(std::string(8 << 20, 'q'));
    c.send(std::vector<double>(1 << 20, 2.5));
    c.send(7);
  });
  EXPECT_THROW(a.recv<std::vector<double>>(), mp::ProtocolError);
  EXPECT_EQ(a.recv<std::vector<double>>(), std::vector<double>(1 << 20, 2.5));
  EXPECT_EQ(a.recv<int>(), 7);
  sender.join();
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

// An oversized message is not read: the connection can no longer tell where the next message
// starts, so it stops receiving (as Python's recv_bytes(maxlength) does) rather than reading
// the skipped payload as messages. Sending still works.
TEST_F(ConnectionTest, AfterAnOversizedMessageTheConnectionStopsReceiving) {
  auto [a, b] = mp::Pipe();
  b.set_max_message_size(64);
  // The oversized payload itself looks like a small valid frame ("trap") followed by padding:
  // a receiver that lost its place would return "trap" as the next message.
  std::vector<std::byte> payload(8 + 4);
  const std::uint64_t four = 4;
  std::memcpy(payload.data(), &four, sizeof four);
  std::memcpy(payload.data() + 8, "trap", 4);
  payload.resize(4096, std::byte{0});
  a.send_bytes(payload);
  a.send(std::string("next"));
  EXPECT_THROW(b.recv_bytes(), mp::ProtocolError);
  EXPECT_FALSE(b.readable());
  EXPECT_FALSE(b.closed());
  for (int i = 0; i < 2; ++i) {  // every later recv refuses, none returns bytes
    try {
      auto got = b.recv_bytes();
      ADD_FAILURE() << "recv after an oversized message returned " << got.size() << " bytes";
    } catch (const mp::ProtocolError& e) {
      EXPECT_NE(std::string(e.what()).find("size limit"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(b.recv<std::string>(), mp::ProtocolError);
  std::vector<std::byte> buffer(16);
  EXPECT_THROW(b.recv_bytes_into(buffer), mp::ProtocolError);
  EXPECT_THROW(b.poll(), mp::ProtocolError);
  b.send(7);  // the other direction is unaffected
  ASSERT_TRUE(a.poll(10s));
  EXPECT_EQ(a.recv<int>(), 7);
  b.close();
  EXPECT_TRUE(b.closed());
}

// The same across processes: the peer sends an oversized message, then a normal one.
TEST_P(ConnectionProcessTest, OversizedMessageFromAnotherProcess) {
  auto [parent, child] = mp::Pipe();
  parent.set_max_message_size(1 << 10);
  auto p = ctx().Process(
      [](mp::Connection c, mp::Connection other) {
        other.close();
        c.send(std::string(4096, 'y'));  // small enough to sit in the socket buffer unread
        c.send(std::string("normal"));
        if (!c.poll(30s)) std::exit(2);  // wait for the parent's verdict, then go
        std::exit(c.recv<int>() == 1 ? 0 : 3);
      },
      child, parent);
  p.start();
  child.close();
  ASSERT_TRUE(parent.poll(30s));
  EXPECT_THROW(parent.recv<std::string>(), mp::ProtocolError);
  EXPECT_THROW(parent.recv<std::string>(), mp::ProtocolError);  // not "normal", not garbage
  parent.send(1);
  ASSERT_TRUE(p.join(30s));
  EXPECT_EQ(p.exitcode(), 0);
}

TEST_P(ConnectionProcessTest, WaitReturnsTheReadyOnes) {
  auto [a1, b1] = mp::Pipe();
  auto [a2, b2] = mp::Pipe();
  auto p = ctx().Process([] { std::this_thread::sleep_for(30s); });
  p.start();
  auto t0 = Clock::now();
  EXPECT_TRUE(mp::connection::wait({&b1, &b2, &p}, 100ms).empty());
  auto took = Clock::now() - t0;
  EXPECT_GE(took, 100ms);
  EXPECT_LE(took, 100ms + 5s);
  a2.send(1);
  auto ready = mp::connection::wait({&b1, &b2, &p}, 10s);
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].connection(), &b2);
  p.terminate();
  ready = mp::connection::wait({&b1, &p}, 10s);
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].process(), &p);
  ASSERT_TRUE(p.join(10s));
  ready = mp::connection::wait({b2.fileno()}, 0ms);
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].fd(), b2.fileno());
}

TEST_P(ConnectionProcessTest, ListenerAndClientOverTcp) {
  mp::Listener server("127.0.0.1:0", "secret");
  ASSERT_NE(server.address(), "127.0.0.1:0");
  auto p = ctx().Process(hello_client, server.address(), std::string("secret"));
  p.start();
  auto conn = server.accept(30s);
  ASSERT_TRUE(conn.poll(30s));
  EXPECT_EQ(conn.recv<std::string>(), "hello");
  conn.send(std::string("bye"));
  ASSERT_TRUE(p.join(30s));
  EXPECT_EQ(p.exitcode(), kClientOk);
}

TEST_P(ConnectionProcessTest, UnixListenerIsPrivateAndRemovedOnClose) {
  std::string path = "/tmp/mp-test-" + std::to_string(::getpid()) + ".sock";
  {
    mp::Listener server(path, "k");
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    auto p = ctx().Process(hello_client, path, std::string("k"));
    p.start();
    auto c = server.accept(30s);
    ASSERT_TRUE(c.poll(30s));
    EXPECT_EQ(c.recv<std::string>(), "hello");
    c.send(std::string("bye"));
    ASSERT_TRUE(p.join(30s));
    EXPECT_EQ(p.exitcode(), kClientOk);
  }
  struct stat st {};
  EXPECT_NE(::stat(path.c_str(), &st), 0);
}

// As Python: accept() raises AuthenticationError for a client with the wrong key (the client
// raises it too), and the listener serves the next client.
TEST_P(ConnectionProcessTest, WrongKeyRaisesFromAcceptAndTheListenerKeepsServing) {
  mp::Listener server("127.0.0.1:0", "right");
  auto bad = ctx().Process(hello_client, server.address(), std::string("wrong"));
  bad.start();
  EXPECT_THROW(server.accept(30s), mp::AuthenticationError);
  ASSERT_TRUE(bad.join(30s));
  EXPECT_EQ(bad.exitcode(), kClientAuthFailed);
  EXPECT_EQ(server.rejected(), 1u);

  auto good = ctx().Process(hello_client, server.address(), std::string("right"));
  good.start();
  auto conn = server.accept(30s);
  ASSERT_TRUE(conn.poll(30s));
  EXPECT_EQ(conn.recv<std::string>(), "hello");
  conn.send(std::string("bye"));
  ASSERT_TRUE(good.join(30s));
  EXPECT_EQ(good.exitcode(), kClientOk);
  EXPECT_EQ(server.rejected(), 1u);
}

// A listener whose key differs from the client's: the client learns it from Client().
TEST_P(ConnectionProcessTest, ClientRaisesWhenTheServerHasAnotherKey) {
  mp::Listener server("127.0.0.1:0", "server-key");
  auto p = ctx().Process(hello_client, server.address(), std::string("client-key"));
  p.start();
  EXPECT_THROW(server.accept(30s), mp::AuthenticationError);
  ASSERT_TRUE(p.join(30s));
  EXPECT_EQ(p.exitcode(), kClientAuthFailed);
}

// Peers that close, send garbage or say nothing during the handshake: each accept() raises
// AuthenticationError (a silent one once the handshake timeout has passed, not before), and
// the listener then serves a good client.
TEST_P(ConnectionProcessTest, BrokenHandshakesRaiseFromAccept) {
  mp::Listener server("127.0.0.1:0", "key");
  const auto handshake = 300ms;
  server.set_handshake_timeout(handshake);
  auto raw = [&] { return mp::Client(server.address()); };  // no key: a raw connection

  {  // closes at once
    auto c = raw();
    c.close();
    EXPECT_THROW(server.accept(30s), mp::AuthenticationError);
  }
  {  // a header that promises 2^40 bytes
    auto c = raw();
    std::uint64_t lie = std::uint64_t{1} << 40;
    ASSERT_EQ(::write(c.fileno(), &lie, sizeof lie), 8);
    EXPECT_THROW(server.accept(30s), mp::AuthenticationError);
  }
  {  // a well-framed answer that is not the digest
    auto c = raw();
    c.send_bytes(std::string_view("garbage!garbage!garbage!garbage!"));
    EXPECT_THROW(server.accept(30s), mp::AuthenticationError);
  }
  {  // half a header, then the peer hangs up
    auto c = raw();
    ASSERT_EQ(::write(c.fileno(), "gar", 3), 3);
    c.close();
    EXPECT_THROW(server.accept(30s), mp::AuthenticationError);
  }
  {  // silent: accept() gives up after the handshake timeout, not before and not never
    auto c = raw();
    auto t0 = Clock::now();
    try {
      server.accept(30s);
      ADD_FAILURE() << "accept() returned a connection that never authenticated";
    } catch (const mp::AuthenticationError& e) {
      EXPECT_NE(std::string(e.what()).find("timed out"), std::string::npos) << e.what();
    }
    auto took = Clock::now() - t0;
    EXPECT_GE(took, handshake);
    EXPECT_LE(took, handshake + 10s);
  }
  EXPECT_EQ(server.rejected(), 5u);

  auto good = ctx().Process(hello_client, server.address(), std::string("key"));
  good.start();
  auto conn = server.accept(30s);
  ASSERT_TRUE(conn.poll(30s));
  EXPECT_EQ(conn.recv<std::string>(), "hello");
  conn.send(std::string("bye"));
  ASSERT_TRUE(good.join(30s));
  EXPECT_EQ(good.exitcode(), kClientOk);
}

TEST_F(ConnectionTest, NothingListeningIsASystemError) {
  EXPECT_THROW(mp::Client("/tmp/mp-test-nobody-here.sock"), std::system_error);
  mp::Listener server("127.0.0.1:0");
  auto t0 = Clock::now();
  EXPECT_THROW(server.accept(50ms), mp::TimeoutError);
  EXPECT_GE(Clock::now() - t0, 50ms);
}

}  // namespace
