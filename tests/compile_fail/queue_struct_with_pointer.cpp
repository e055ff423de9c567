// A trivially copyable struct with a pointer field would travel as its bytes: refused, naming the
// field's type.
// expect-error: static assertion failed: mp:
// expect-error: address_free<const char\*>. evaluates to false
#include "mp/queues.hpp"

struct Message {
  int id;
  const char* text;
};

int main() {
  mp::Queue<Message> q;
  q.put(Message{1, "hello"});
}
