#include "target/fd_names.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>

namespace loopprof {

namespace {

// "0100007F:1F90" (IPv4) or 32 hex digits (IPv6), each 32-bit word in host order.
std::string inet_endpoint(const std::string& hex, bool ipv6) {
  auto colon = hex.find(':');
  if (colon == std::string::npos) return hex;
  unsigned port = static_cast<unsigned>(std::stoul(hex.substr(colon + 1), nullptr, 16));
  std::string addr = hex.substr(0, colon);
  char text[INET6_ADDRSTRLEN] = {};
  if (!ipv6 && addr.size() == 8) {
    uint32_t word = static_cast<uint32_t>(std::stoul(addr, nullptr, 16));
    in_addr in{};
    in.s_addr = word;  // the file prints the word in host order: the bytes are network order
    inet_ntop(AF_INET, &in, text, sizeof(text));
    return fmt::format("{}:{}", text, port);
  }
  if (ipv6 && addr.size() == 32) {
    in6_addr in6{};
    for (int i = 0; i < 4; ++i) {
      uint32_t word = static_cast<uint32_t>(std::stoul(addr.substr(i * 8, 8), nullptr, 16));
      std::memcpy(&in6.s6_addr[i * 4], &word, 4);
    }
    if (IN6_IS_ADDR_V4MAPPED(&in6)) {
      inet_ntop(AF_INET, &in6.s6_addr[12], text, sizeof(text));
      return fmt::format("{}:{}", text, port);
    }
    inet_ntop(AF_INET6, &in6, text, sizeof(text));
    return fmt::format("[{}]:{}", text, port);
  }
  return hex;
}

}  // namespace

bool parse_inet_socket_line(const std::string& line, const char* protocol, bool ipv6,
                            uint64_t& inode, std::string& text) {
  std::istringstream in(line);
  std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout;
  if (!(in >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
        timeout >> inode))
    return false;
  if (slot.empty() || slot.back() != ':') return false;
  std::string from = inet_endpoint(local, ipv6), to = inet_endpoint(remote, ipv6);
  bool listening = state == "0A" && std::string(protocol) == "TCP";
  bool unconnected = remote.find_first_not_of("0:") == std::string::npos;
  if (listening)
    text = fmt::format("{} listening on {}", protocol, from);
  else if (unconnected)
    text = fmt::format("{} {}", protocol, from);
  else
    text = fmt::format("{} {} -> {}", protocol, from, to);
  return true;
}

const std::unordered_map<uint64_t, std::string>& FdNamer::sockets() {
  if (sockets_) return *sockets_;
  sockets_.emplace();
  const std::string net = fmt::format("/proc/{}/net/", pid_);
  struct Table {
    const char* file;
    const char* protocol;
    bool ipv6;
  };
  for (const Table& table : {Table{"tcp", "TCP", false}, Table{"tcp6", "TCP", true},
                             Table{"udp", "UDP", false}, Table{"udp6", "UDP", true}}) {
    std::ifstream in(net + table.file);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      uint64_t inode = 0;
      std::string text;
      if (parse_inet_socket_line(line, table.protocol, table.ipv6, inode, text) && inode)
        sockets_->emplace(inode, std::move(text));
    }
  }
  std::ifstream unix_sockets(net + "unix");
  std::string line;
  std::getline(unix_sockets, line);
  while (std::getline(unix_sockets, line)) {
    std::istringstream in(line);
    std::string slot, refs, protocol, flags, type, state, path;
    uint64_t inode = 0;
    if (!(in >> slot >> refs >> protocol >> flags >> type >> state >> inode)) continue;
    in >> path;
    sockets_->emplace(inode, path.empty() ? "unix socket" : "unix socket " + path);
  }
  return *sockets_;
}

std::string FdNamer::describe(int fd) {
  if (fd < 0) return "";
  char target[4096];
  std::string link = fmt::format("/proc/{}/fd/{}", pid_, fd);
  ssize_t n = readlink(link.c_str(), target, sizeof(target) - 1);
  if (n < 0) return "";
  std::string what(target, static_cast<size_t>(n));
  if (what.rfind("socket:[", 0) == 0) {
    uint64_t inode = std::stoull(what.substr(8));
    auto it = sockets().find(inode);
    if (it != sockets().end()) return it->second;
    return what;  // a socket of a family the tables do not list
  }
  if (what == "anon_inode:[eventpoll]") return "epoll";
  if (what.rfind("anon_inode:", 0) == 0) return what.substr(11);
  return what;  // a path, "pipe:[N]"
}

}  // namespace loopprof
