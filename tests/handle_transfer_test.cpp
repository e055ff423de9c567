// tests/handle_transfer_test.cpp — shared objects passed to processes that did not inherit
// them: encoding with their descriptors on the side (detail/fd_transfer.hpp), over a Connection
// with SCM_RIGHTS, and refusal of malformed messages without leaking a descriptor.
//
// Every wait is bounded; a child that does not finish in time is killed.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "mp/codec.hpp"
#include "mp/connection.hpp"
#include "mp/detail/fd_transfer.hpp"
#include "mp/process.hpp"
#include "mp/queues.hpp"
#include "mp/shared_memory.hpp"
#include "mp/sharedctypes.hpp"
#include "mp/synchronize.hpp"
#include "support/leak_check.hpp"
#include "sys/fd.hpp"
#include "sys/socket.hpp"

namespace {

using namespace std::chrono_literals;
namespace detail = mp::detail;

class HandleTransferTest : public mp::testing::LeakCheckedTest {};

std::size_t fd_count() {
  std::size_t n = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

// An encoded payload and the descriptors that go with it.
struct Encoded {
  std::vector<std::byte> bytes;
  std::vector<int> fds;  // borrowed from the encoded handles
};

template <class T>
Encoded encode_with_fds(const T& value) {
  Encoded e;
  detail::FdOutbox out;
  detail::encode_payload_into(value, e.bytes);
  e.fds = out.fds();
  return e;
}

// Decodes as a receiving process would: from duplicates of the descriptors (what SCM_RIGHTS
// delivers), closed afterwards.
template <class T>
T decode_with_fds(const Encoded& e) {
  detail::ReceivedFds received;
  for (int fd : e.fds) received.adopt(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
  detail::FdInbox in(received.fds());
  return detail::decode_payload<T>(e.bytes);
}

template <class T>
T round_trip(const T& value) {
  return decode_with_fds<T>(encode_with_fds(value));
}

// --- round trips in one process -------------------------------------------------------------

TEST_F(HandleTransferTest, ValueRoundTripSharesMemoryAndLock) {
  mp::Value<int> v(5);
  auto w = round_trip(v);
  EXPECT_NE(&w.value(), &v.value());  // another mapping ...
  EXPECT_EQ(w.value(), 5);            // ... of the same memory
  w.value() = 7;
  EXPECT_EQ(v.value(), 7);
  v.fetch_add(3);
  EXPECT_EQ(w.load(), 10);
  ASSERT_TRUE(w.get_lock().acquire(false));
  EXPECT_TRUE(v.get_lock().is_owned());  // one lock: held through w, owned as seen through v
  w.get_lock().release();
  EXPECT_FALSE(v.get_lock().is_owned());
}

TEST_F(HandleTransferTest, RawValueAndArraysRoundTrip) {
  mp::RawValue<double> rv(1.5);
  auto rv2 = round_trip(rv);
  rv2.value() = 2.5;
  EXPECT_EQ(rv.value(), 2.5);

  mp::Array<std::int64_t> a{1, 2, 3, 4};
  auto a2 = round_trip(a);
  ASSERT_EQ(a2.size(), 4u);
  a2[3] = 40;
  EXPECT_EQ(a[3], 40);
  ASSERT_TRUE(a2.get_lock().acquire(false));
  EXPECT_TRUE(a.get_lock().is_owned());
  a2.get_lock().release();

  mp::RawArray<char> r(100);
  auto r2 = round_trip(r);
  ASSERT_EQ(r2.size(), 100u);
  r2[99] = 'z';
  EXPECT_EQ(r[99], 'z');

  mp::Array<int> empty;
  EXPECT_EQ(round_trip(empty).size(), 0u);
}

TEST_F(HandleTransferTest, LocksAndSemaphoresRoundTrip) {
  mp::Lock lock;
  auto lock2 = round_trip(lock);
  ASSERT_TRUE(lock2.acquire(false));
  EXPECT_FALSE(lock.acquire(false));  // held through the other handle
  lock.release();                     // a Lock may be released by anyone, as in Python
  EXPECT_TRUE(lock2.acquire(false));
  lock2.release();

  mp::RLock rlock;
  auto rlock2 = round_trip(rlock);
  ASSERT_TRUE(rlock2.acquire(false));
  EXPECT_TRUE(rlock.is_owned());
  rlock.release();

  mp::Semaphore sem(2);
  auto sem2 = round_trip(sem);
  EXPECT_TRUE(sem2.acquire(false));
  EXPECT_EQ(sem.get_value(), 1u);
  sem.release(3);
  EXPECT_EQ(sem2.get_value(), 4u);

  mp::BoundedSemaphore bounded(1);
  auto bounded2 = round_trip(bounded);
  EXPECT_THROW(bounded2.release(), mp::ValueError);  // the bound lives in the shared state
  EXPECT_TRUE(bounded.acquire(false));
  EXPECT_FALSE(bounded2.acquire(false));
  bounded2.release();
}

TEST_F(HandleTransferTest, ConditionEventBarrierRoundTrip) {
  mp::Condition cond{mp::Lock()};
  auto cond2 = round_trip(cond);
  ASSERT_TRUE(cond2.try_lock());
  EXPECT_FALSE(cond.try_lock());  // one lock under both
  cond2.unlock();
  // A waiter asleep on one handle is woken by a notify through the other.
  // Atomic: the two handles map the lock at two addresses, which ThreadSanitizer takes for two
  // mutexes, so it would not see the lock ordering these accesses.
  std::atomic<bool> ready{false};
  bool woken = false;
  std::atomic<int> waiter_tid{0};
  std::thread waiter([&] {
    waiter_tid = static_cast<int>(::gettid());
    std::unique_lock g(cond);
    woken = cond.wait_for(30s, [&] { return ready.load(); });
  });
  while (waiter_tid == 0) std::this_thread::yield();
  EXPECT_TRUE(mp::testing::wait_until_asleep_in_futex(waiter_tid, 10s));
  {
    std::unique_lock g(cond2);
    ready = true;
    cond2.notify_all();
  }
  waiter.join();
  EXPECT_TRUE(woken);

  mp::Event ev;
  auto ev2 = round_trip(ev);
  ev2.set();
  EXPECT_TRUE(ev.is_set());
  ev.clear();
  EXPECT_FALSE(ev2.wait_for(1ms));

  mp::Barrier barrier(2, nullptr, 10s);
  auto barrier2 = round_trip(barrier);
  EXPECT_EQ(barrier2.parties(), 2u);
  std::thread other([&barrier] { barrier.wait(); });
  EXPECT_LT(barrier2.wait(), 2u);  // the default timeout travelled with it
  other.join();

  mp::Barrier with_action(2, [] {});
  try {
    encode_with_fds(with_action);
    ADD_FAILURE() << "a Barrier's action travelled";
  } catch (const mp::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("action"), std::string::npos);
  }
}

TEST_F(HandleTransferTest, QueuesRoundTrip) {
  mp::QueueOptions small;
  small.capacity = 4096;  // messages over 1 KiB travel outside the ring, over its socket
  mp::Queue<std::string> q(0, small);
  auto q2 = round_trip(q);
  q2.put("through the copy");
  EXPECT_EQ(q.get(5s), "through the copy");
  const std::string large(100000, 'x');
  q2.put(large);
  EXPECT_EQ(q.get(5s), large);
  q.put(large);
  EXPECT_EQ(q2.get(5s), large);

  mp::JoinableQueue<int> jq;
  auto jq2 = round_trip(jq);
  jq2.put(1);
  EXPECT_EQ(jq.get(5s), 1);
  EXPECT_FALSE(jq2.join(1ms));
  jq.task_done();
  EXPECT_TRUE(jq2.join(5s));

  mp::SimpleQueue<int> sq;
  auto sq2 = round_trip(sq);
  sq.put(3);
  EXPECT_EQ(sq2.get(), 3);
}

TEST_F(HandleTransferTest, ConnectionRoundTrip) {
  auto [a, b] = mp::Pipe();
  auto a2 = round_trip(a);
  EXPECT_NE(a2.fileno(), a.fileno());
  a2.send(std::string("via a copy"));
  ASSERT_TRUE(b.poll(5s));
  EXPECT_EQ(b.recv<std::string>(), "via a copy");

  auto [r, w] = mp::Pipe(false);
  auto w2 = round_trip(w);
  EXPECT_FALSE(w2.readable());
  EXPECT_TRUE(w2.writable());

  mp::Connection closed;
  EXPECT_TRUE(round_trip(closed).closed());
}

TEST_F(HandleTransferTest, SharedMemoryRoundTripEvenAfterUnlink) {
  auto shm = mp::SharedMemory::create(10000);
  shm.buf()[9999] = std::byte{42};
  auto e = encode_with_fds(shm);
  shm.unlink();  // the descriptor still reaches the memory; a name would not
  {
    auto copy = decode_with_fds<mp::SharedMemory>(e);
    EXPECT_EQ(copy.name(), shm.name());
    ASSERT_EQ(copy.size(), 10000u);
    EXPECT_EQ(copy.buf()[9999], std::byte{42});
    copy.buf()[0] = std::byte{7};
  }  // the copy attached: it never unlinks
  EXPECT_EQ(shm.buf()[0], std::byte{7});
  mp::SharedMemory closed;
  EXPECT_THROW(encode_with_fds(closed), mp::ValueError);
}

TEST_F(HandleTransferTest, TupleOfHandlesIsEncodableAndEachDescriptorTravelsOnce) {
  using Message = std::tuple<mp::Value<int>, mp::Queue<std::string>, mp::Lock, std::string>;
  static_assert(mp::Encodable<Message>);
  Message m{mp::Value<int>(1), mp::Queue<std::string>(), mp::Lock(), "text"};
  auto e = encode_with_fds(m);
  EXPECT_EQ(e.fds.size(), 1u + 3u + 1u);  // the value, the ring and its two sockets, the lock
  auto back = decode_with_fds<Message>(e);
  std::get<0>(back).value() = 9;
  EXPECT_EQ(std::get<0>(m).value(), 9);
  std::get<1>(back).put("q");
  EXPECT_EQ(std::get<1>(m).get(5s), "q");
  EXPECT_EQ(std::get<3>(back), "text");

  mp::Value<int> v;
  auto twice = encode_with_fds(std::pair(v, v));
  EXPECT_EQ(twice.fds.size(), 1u);
  auto [x, y] = decode_with_fds<std::pair<mp::Value<int>, mp::Value<int>>>(twice);
  EXPECT_EQ(&x.value(), &y.value());  // mapped once by the decoder
}

TEST_F(HandleTransferTest, ScopesNest) {
  mp::Lock a, b;
  std::vector<std::byte> bytes;
  detail::FdOutbox outer;
  detail::encode_payload_into(a, bytes);
  {
    detail::FdOutbox inner;
    detail::encode_payload_into(b, bytes);
    EXPECT_EQ(inner.fds().size(), 1u);
  }
  detail::encode_payload_into(b, bytes);
  EXPECT_EQ(outer.fds().size(), 2u);  // a, then b: the inner scope took nothing from it
}

TEST_F(HandleTransferTest, DecodedHandlesAreInheritedByForkLikeAnyOther) {
  mp::Value<int> v(0);
  mp::Queue<int> q;
  auto v2 = round_trip(v);
  auto q2 = round_trip(q);
  mp::Process p([v2, q2]() mutable {
    v2.fetch_add(5);
    q2.put(6);
  });
  p.start();
  auto got = q.try_get(30s);
  if (!p.join(30s)) {
    p.kill();
    p.join();
    FAIL() << "the child did not finish";
  }
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_EQ(got, 6);
  EXPECT_EQ(v.load(), 5);
}

// --- refusals -----------------------------------------------------------------------------------

TEST_F(HandleTransferTest, EncodingWithoutAnOutboxIsAClearError) {
  mp::Lock lock;
  try {
    mp::encode(lock);
    ADD_FAILURE() << "a Lock was encoded without its descriptor";
  } catch (const mp::ValueError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("mp::Lock"), std::string::npos) << what;
    EXPECT_NE(what.find("Connection"), std::string::npos) << what;
  }
  mp::Queue<mp::Event> q;  // compiles (an Event is encodable), but cannot carry one
  EXPECT_THROW(q.put(mp::Event()), mp::ValueError);
  EXPECT_TRUE(q.empty());
  EXPECT_THROW(mp::encode(mp::Value<int>()), mp::ValueError);
  auto [a, b] = mp::Pipe();
  EXPECT_THROW(mp::encode(a), mp::ValueError);
}

// The Lock's wire form: descriptor index, offset, size, recursive flag.
struct LockWire {
  std::uint32_t index;
  std::uint64_t offset;
  std::uint64_t size;
  bool recursive;
};

std::vector<std::byte> lock_bytes(const LockWire& w) {
  std::vector<std::byte> out;
  auto put = [&out](const void* p, std::size_t n) {
    auto* b = static_cast<const std::byte*>(p);
    out.insert(out.end(), b, b + n);
  };
  put(&w.index, 4);
  put(&w.offset, 8);
  put(&w.size, 8);
  put(&w.recursive, 1);
  return out;
}

TEST_F(HandleTransferTest, MalformedHandlesAreProtocolErrorsWithoutLeaks) {
  mp::Lock lock;
  auto good = encode_with_fds(lock);
  ASSERT_EQ(good.bytes, lock_bytes({0, 0, 16, false}));  // the layout these cases tamper with
  ASSERT_EQ(good.fds.size(), 1u);
  auto [a, b] = mp::Pipe();
  mp::Queue<int> ints;
  const std::size_t before = fd_count();

  auto decode_as_lock = [&](const std::vector<std::byte>& bytes, std::vector<int> fds) {
    Encoded e{bytes, std::move(fds)};
    return decode_with_fds<mp::Lock>(e);
  };
  // An index beyond the descriptors received, or none received at all.
  EXPECT_THROW(decode_as_lock(lock_bytes({1, 0, 16, false}), good.fds), mp::ProtocolError);
  EXPECT_THROW(decode_as_lock(good.bytes, {}), mp::ProtocolError);
  EXPECT_THROW(detail::decode_payload<mp::Lock>(good.bytes), mp::ProtocolError);  // no inbox
  // The state outside the mapping (a page), straddling its end, misaligned, or of another size.
  EXPECT_THROW(decode_as_lock(lock_bytes({0, 1 << 20, 16, false}), good.fds), mp::ProtocolError);
  EXPECT_THROW(decode_as_lock(lock_bytes({0, 4088, 16, false}), good.fds), mp::ProtocolError);
  EXPECT_THROW(decode_as_lock(lock_bytes({0, UINT64_MAX - 7, 16, false}), good.fds),
               mp::ProtocolError);
  EXPECT_THROW(decode_as_lock(lock_bytes({0, 1, 16, false}), good.fds), mp::ProtocolError);
  EXPECT_THROW(decode_as_lock(lock_bytes({0, 0, 8, false}), good.fds), mp::ProtocolError);
  // An RLock's bytes read as a Lock.
  EXPECT_THROW(decode_as_lock(lock_bytes({0, 0, 16, true}), good.fds), mp::ProtocolError);
  // A socket where shared memory belongs, and shared memory where a socket belongs.
  EXPECT_THROW(decode_as_lock(good.bytes, {a.fileno()}), mp::ProtocolError);
  auto conn = encode_with_fds(a);
  EXPECT_THROW(decode_with_fds<mp::Connection>(Encoded{conn.bytes, good.fds}), mp::ProtocolError);
  // A queue of another element type.
  auto q = encode_with_fds(ints);
  EXPECT_THROW(decode_with_fds<mp::Queue<std::string>>(q), mp::ProtocolError);
  // Truncated.
  auto cut = good.bytes;
  cut.pop_back();
  EXPECT_THROW(decode_as_lock(cut, good.fds), mp::ProtocolError);

  EXPECT_EQ(fd_count(), before);  // every duplicate taken on the failed paths was closed
  EXPECT_TRUE(decode_as_lock(good.bytes, good.fds).acquire(false));  // the good form still works
  lock.release();
}

// --- over a Connection --------------------------------------------------------------------------

TEST_F(HandleTransferTest, HandlesTravelOverAPipe) {
  auto [a, b] = mp::Pipe();
  mp::Value<int> v(1);
  mp::Queue<std::string> q;
  a.send(std::tuple(v, q, std::string("x")));
  ASSERT_TRUE(b.poll(5s));
  const std::size_t before = fd_count();
  {
    auto [v2, q2, s] = b.recv<std::tuple<mp::Value<int>, mp::Queue<std::string>, std::string>>();
    EXPECT_EQ(s, "x");
    v2.value() = 2;
    q2.put("back");
    EXPECT_EQ(fd_count(), before + 4);  // what the decoded handles keep: nothing more
  }
  EXPECT_EQ(fd_count(), before);
  EXPECT_EQ(v.value(), 2);
  EXPECT_EQ(q.get(5s), "back");

  // Plain messages are unchanged, before and after.
  a.send(42);
  EXPECT_EQ(b.recv<int>(), 42);
  a.send(std::string("plain"));
  EXPECT_EQ(b.recv<std::string>(), "plain");
}

// A message with descriptors goes out in two sends (header, then payload with the descriptors).
// Once the payload is all out there is nothing more to send: a receiver that reads it and
// closes at once must not turn the sender's success into EPIPE (a zero-length send would).
TEST_F(HandleTransferTest, NothingLeftToSendIsNotSentToAClosedPeer) {
  mp::sys::UniqueFd a, b;
  ASSERT_EQ(mp::sys::socket_pair(false, a, b), 0);
  b.reset();
  EXPECT_EQ(mp::sys::send_all(a.get(), {}, {}), 0);
  const std::byte one[1] = {std::byte{1}};
  EXPECT_EQ(mp::sys::send_all(a.get(), {}, one), EPIPE);  // something to send still fails
}

TEST_F(HandleTransferTest, RecvBytesClosesDescriptorsItCannotUse) {
  auto [a, b] = mp::Pipe();
  const std::size_t before = fd_count();
  a.send(mp::Lock());
  ASSERT_TRUE(b.poll(5s));
  EXPECT_FALSE(b.recv_bytes().empty());
  EXPECT_EQ(fd_count(), before);
  // The wrong type: consumed whole, its descriptors closed, the connection in step.
  a.send(mp::Lock());
  a.send(7);
  EXPECT_THROW(b.recv<mp::Event>(), mp::ProtocolError);
  EXPECT_EQ(b.recv<int>(), 7);
  EXPECT_EQ(fd_count(), before);
}

TEST_F(HandleTransferTest, TooManyDescriptorsAreRefusedBySender) {
  auto [a, b] = mp::Pipe();
  std::vector<mp::Lock> locks(65);
  try {
    a.send(locks);
    ADD_FAILURE() << "65 descriptors were sent";
  } catch (const mp::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("64"), std::string::npos) << e.what();
  }
  locks.pop_back();
  a.send(locks);
  ASSERT_TRUE(b.poll(5s));
  auto got = b.recv<std::vector<mp::Lock>>();
  ASSERT_EQ(got.size(), 64u);
  ASSERT_TRUE(got[63].acquire(false));
  EXPECT_FALSE(locks[63].acquire(false));
}

TEST_F(HandleTransferTest, HandlesDoNotGoOverTcp) {
  mp::Listener server("127.0.0.1:0");
  mp::Connection client;
  std::thread connect([&] { client = mp::Client(server.address()); });
  mp::Connection served = server.accept(10s);
  connect.join();
  try {
    client.send(mp::Lock());
    ADD_FAILURE() << "a Lock went over TCP";
  } catch (const mp::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("TCP"), std::string::npos) << e.what();
  }
  client.send(5);  // nothing of the refused message was sent
  ASSERT_TRUE(served.poll(10s));
  EXPECT_EQ(served.recv<int>(), 5);
}

// Sends `bytes` on `sock` with `fds` attached (SCM_RIGHTS).
void send_raw(int sock, const std::vector<std::byte>& bytes, const std::vector<int>& fds) {
  iovec iov{const_cast<std::byte*>(bytes.data()), bytes.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  std::vector<char> control(CMSG_SPACE(sizeof(int) * fds.size()));
  if (!fds.empty()) {
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  ASSERT_EQ(::sendmsg(sock, &msg, MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
}

// Sends a raw frame on `sock`: the 8-byte length (with `flag` or'ed in), then the payload with
// `fds` attached (where a Connection puts them), or the whole frame in one send with `fds`
// attached to the header.
void send_raw_frame(int sock, const std::vector<std::byte>& payload, std::uint64_t flag,
                    const std::vector<int>& fds, bool fds_on_header = false) {
  std::uint64_t len = payload.size() | flag;
  std::vector<std::byte> header(8);
  std::memcpy(header.data(), &len, 8);
  if (fds_on_header) {
    header.insert(header.end(), payload.begin(), payload.end());
    send_raw(sock, header, fds);
  } else {
    send_raw(sock, header, {});
    send_raw(sock, payload, fds);
  }
}

TEST_F(HandleTransferTest, MalformedFramesAreProtocolErrorsWithoutLeaks) {
  auto [a, b] = mp::Pipe();
  mp::Lock lock;
  auto payload = mp::encode(std::string("ignored"));  // replaced below by a Lock message
  {
    detail::FdOutbox out;
    payload = mp::encode(lock);
  }
  constexpr std::uint64_t kHasFds = std::uint64_t{1} << 63;
  int memfd = ::memfd_create("extra", MFD_CLOEXEC);
  ASSERT_GE(memfd, 0);
  ASSERT_EQ(::ftruncate(memfd, 4096), 0);
  const std::size_t before = fd_count();

  // Claims descriptors, sends none.
  send_raw_frame(a.fileno(), payload, kHasFds, {});
  EXPECT_THROW(b.recv<mp::Lock>(), mp::ProtocolError);
  // Names a descriptor, neither claims nor sends one.
  send_raw_frame(a.fileno(), payload, 0, {});
  EXPECT_THROW(b.recv<mp::Lock>(), mp::ProtocolError);
  // Sends one without claiming it (the kernel closes it: read by plain recv).
  send_raw_frame(a.fileno(), payload, 0, {memfd});
  EXPECT_THROW(b.recv<mp::Lock>(), mp::ProtocolError);
  // Claims and sends one, but on the header, not where the receiver takes them.
  send_raw_frame(a.fileno(), payload, kHasFds, {memfd}, true);
  EXPECT_THROW(b.recv<mp::Lock>(), mp::ProtocolError);
  // Sends more than the receiver takes: the kernel drops the excess, the rest are closed.
  send_raw_frame(a.fileno(), payload, kHasFds, std::vector<int>(100, memfd));
  EXPECT_THROW(b.recv<mp::Lock>(), mp::ProtocolError);
  // Names descriptor 1 of the 1 sent.
  auto bad_index = payload;
  bad_index[8] = std::byte{1};  // after the 8-byte tag: the index's low byte
  send_raw_frame(a.fileno(), bad_index, kHasFds, {memfd});
  EXPECT_THROW(b.recv<mp::Lock>(), mp::ProtocolError);
  // Names a memory too small for a Lock's state at offset 4096.
  auto beyond = payload;
  std::uint64_t offset = 4096;
  std::memcpy(beyond.data() + 12, &offset, 8);
  send_raw_frame(a.fileno(), beyond, kHasFds, {memfd});
  EXPECT_THROW(b.recv<mp::Lock>(), mp::ProtocolError);

  EXPECT_EQ(fd_count(), before);
  // Each bad message was consumed whole: the connection is still in step.
  a.send(std::string("still in step"));
  EXPECT_EQ(b.recv<std::string>(), "still in step");
  EXPECT_TRUE(b.readable());
  ::close(memfd);
}

// A child forked before the objects existed (so it cannot have inherited them) receives them
// over a Pipe and uses each; the parent sees every effect.
TEST_F(HandleTransferTest, ObjectsReachAChildForkedBeforeThem) {
  auto [parent_end, child_end] = mp::Pipe();
  constexpr int kRounds = 2000;
  using Kit =
      std::tuple<mp::Value<int>, mp::Lock, mp::Queue<std::string>, mp::Event, mp::Connection>;
  mp::Process p([c = child_end, other = parent_end]() mutable {
    other.close();
    if (!c.poll(30s)) std::exit(2);
    auto [value, lock, queue, event, reply] = c.recv<Kit>();
    for (int i = 0; i < kRounds; ++i) {
      std::lock_guard g(lock);
      value.value() += 1;  // not atomic: only the lock keeps the parent's increments
    }
    queue.put("from the child");
    event.set();
    reply.send(std::string("done"));
    std::exit(0);
  });
  p.start();
  child_end.close();

  mp::Value<int> value(0);
  mp::Lock lock;
  mp::Queue<std::string> queue;
  mp::Event event;
  auto [reply_here, reply_there] = mp::Pipe();
  parent_end.send(Kit{value, lock, queue, event, reply_there});
  reply_there.close();  // the child holds its own copy now
  for (int i = 0; i < kRounds; ++i) {
    std::lock_guard g(lock);
    value.value() += 1;
  }
  const bool set = event.wait_for(30s);
  std::optional<std::string> item = queue.try_get(30s);
  const bool replied = reply_here.poll(30s);
  if (!p.join(30s)) {
    p.kill();
    p.join();
    FAIL() << "the child did not finish";
  }
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_TRUE(set);
  EXPECT_EQ(item, "from the child");
  ASSERT_TRUE(replied);
  EXPECT_EQ(reply_here.recv<std::string>(), "done");
  EXPECT_EQ(value.value(), 2 * kRounds);
}

}  // namespace
