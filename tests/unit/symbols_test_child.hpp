// Spawns a tests/elf program and reads the "name 0xADDRESS" lines it prints
// before "ready". The child then waits on its stdin, so its memory map stays
// put until the test ends (closing stdin lets it exit).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

namespace loopprof::testing {

inline std::string elf_dir() {
  return LOOPPROF_TEST_BUILD_DIR "/elf";
}

class SymbolTestChild {
 public:
  explicit SymbolTestChild(const std::string& program)
      : SymbolTestChild(std::vector<std::string>{program}) {}
  // argv[0] is looked up in PATH.
  explicit SymbolTestChild(const std::vector<std::string>& args) {
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    std::vector<char*> argv;
    for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    int rc = posix_spawnp(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(in[0]);
    close(out[1]);
    if (rc != 0) throw std::runtime_error("spawn " + args.front());
    stdin_ = in[1];
    stdout_ = fdopen(out[0], "r");
    while (true) {
      std::string line = read_line();
      if (line == "ready") break;
      char name[256];
      unsigned long long address = 0;
      if (std::sscanf(line.c_str(), "%255s 0x%llx", name, &address) == 2)
        addresses_[name] = address;
    }
  }
  ~SymbolTestChild() {
    if (stdin_ >= 0) close(stdin_);
    if (stdout_ != nullptr) fclose(stdout_);
    int status = 0;
    if (waitpid(pid_, &status, 0) < 0) kill(pid_, SIGKILL);
  }
  SymbolTestChild(const SymbolTestChild&) = delete;
  SymbolTestChild& operator=(const SymbolTestChild&) = delete;

  pid_t pid() const { return pid_; }
  uint64_t address(const std::string& name) const {
    auto it = addresses_.find(name);
    if (it == addresses_.end()) throw std::runtime_error("child printed no " + name);
    return it->second;
  }
  // Sends one command line and returns the "name 0xADDRESS" reply's address.
  uint64_t command(const std::string& line) {
    std::string text = line + "\n";
    if (write(stdin_, text.data(), text.size()) != static_cast<ssize_t>(text.size()))
      throw std::runtime_error("write to child");
    std::string reply = read_line();
    char name[256];
    unsigned long long address = 0;
    if (std::sscanf(reply.c_str(), "%255s 0x%llx", name, &address) != 2)
      throw std::runtime_error("bad reply: " + reply);
    return address;
  }

 private:
  std::string read_line() {
    char buffer[4096];
    if (std::fgets(buffer, sizeof buffer, stdout_) == nullptr)
      throw std::runtime_error("child exited early");
    std::string line(buffer);
    if (!line.empty() && line.back() == '\n') line.pop_back();
    return line;
  }

  pid_t pid_ = -1;
  int stdin_ = -1;
  FILE* stdout_ = nullptr;
  std::map<std::string, uint64_t> addresses_;
};

}  // namespace loopprof::testing
