// What a descriptor of the target is, in words: "TCP 127.0.0.1:41830 ->
// 127.0.0.1:8081", "pipe:[123]", "/var/log/app.log", "epoll". Read from
// /proc/PID/fd and the target's own /proc/PID/net tables (its network
// namespace), never from the target's memory.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

namespace loopprof {

class FdNamer {
 public:
  explicit FdNamer(pid_t pid) : pid_(pid) {}
  // "" when the descriptor is not open (any more).
  std::string describe(int fd);
  // Forgets the socket tables read so far (they are read once per namer).
  void refresh() { sockets_.reset(); }

 private:
  const std::unordered_map<uint64_t, std::string>& sockets();

  pid_t pid_;
  std::optional<std::unordered_map<uint64_t, std::string>> sockets_;  // inode -> text
};

// One line of /proc/net/tcp{,6} or udp{,6} as "TCP a:p -> b:p" (listening
// sockets: "TCP listening on a:p"); keyed by inode. Exposed for unit tests.
bool parse_inet_socket_line(const std::string& line, const char* protocol, bool ipv6,
                            uint64_t& inode, std::string& text);

}  // namespace loopprof
