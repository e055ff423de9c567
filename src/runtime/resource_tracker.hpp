// runtime/resource_tracker.hpp — unlinks the /dev/shm names that their creators could not.
//
// A named SharedMemory is unlinked by its creator's last handle; a creator killed by SIGKILL
// never gets there and the name would stay in /dev/shm until reboot. As in Python, a small
// tracker process, started on first use, hears of every name created (and unlinked) by this
// process and the processes it forks. It holds the receiving end of a packet socket whose
// sending end those processes inherit; when the last of them is gone the socket reads end of
// file, and the tracker unlinks whatever is still registered, then exits.
//
// The tracker is a grandchild (nobody's zombie to reap), in a session of its own (a terminal's
// Ctrl-C does not stop it before its work), holding no descriptor of ours but its socket.
// Where it cannot be started, tracking silently does nothing and such names can leak.
#pragma once

#include <string_view>

namespace mp::runtime {

// Starts the tracker unless it runs already; false if it could not be started.
bool start_resource_tracker() noexcept;

// `name` is a /dev/shm name without its leading '/'.
void track_shm_name(std::string_view name) noexcept;
void untrack_shm_name(std::string_view name) noexcept;

// A close-on-exec duplicate of this process's sending end (the tracker started if need be), for
// another process to register names with this process's tracker (a SharedMemoryManager's blocks
// then live as long as the process that made it); -1 when no tracker could be started.
int dup_tracker_socket() noexcept;
// As above, through such a descriptor; nothing happens for -1.
void track_shm_name(int socket, std::string_view name) noexcept;
void untrack_shm_name(int socket, std::string_view name) noexcept;

}  // namespace mp::runtime
