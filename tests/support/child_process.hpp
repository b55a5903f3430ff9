// Test support: runs this very test program again in a child process, so that a scenario which may abort the
// process (an assertion inside RocksDB) fails the test that runs it instead of ending the whole program.
//
//   auto outcome = cairn::test::run_self({"store/faults child: one kind of file fails"},
//                                        {{"CAIRN_FAULT_KIND", "wal"}}, std::chrono::seconds{60});
//   CHECK(outcome.passed());   // outcome.describe() says how the child ended
//
// The child is the same executable (/proc/self/exe) started afresh (no fork of a process with threads), with
// the given arguments and extra environment variables; its output goes to this program's output.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <utility>
#include <vector>

extern char** environ;

namespace cairn::test {

/// How a child process ended.
struct child_outcome {
  bool started = false;
  bool timed_out = false;     ///< still running at the deadline (then killed)
  bool exited = false;        ///< ended by exit(); exit_code is valid
  int exit_code = -1;
  int signal = 0;             ///< the signal that ended it (SIGABRT for an assertion), 0 if none
  std::string start_error{};  ///< why it could not be started

  bool passed() const noexcept {
    return started && !timed_out && exited && exit_code == 0;
  }
  std::string describe() const {
    if (!started)
      return "the child could not be started: " + start_error;
    if (timed_out)
      return "the child was still running at its deadline (killed)";
    if (exited)
      return "the child exited with code " + std::to_string(exit_code);
    return "the child was killed by signal " + std::to_string(signal) + " (" + ::strsignal(signal) + ")";
  }
};

/// Runs `program` with `args` and `env` (added to this process's environment); waits until it ends or `deadline`
/// passes (then kills it). `stderr_file` non-empty: the child's standard error goes to that file.
inline child_outcome run_program(const std::string& program, const std::vector<std::string>& args,
                                 const std::vector<std::pair<std::string, std::string>>& env,
                                 std::chrono::milliseconds deadline, const std::string& stderr_file = {}) {
  child_outcome out;
  std::vector<std::string> arg_strings{program};
  arg_strings.insert(arg_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : arg_strings)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e)
    env_strings.emplace_back(*e);
  for (const auto& [name, value] : env)
    env_strings.push_back(name + "=" + value);
  std::vector<char*> envp;
  for (auto& e : env_strings)
    envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  if (!stderr_file.empty())
    ::posix_spawn_file_actions_addopen(&actions, 2, stderr_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, program.c_str(), &actions, nullptr, argv.data(), envp.data());
  ::posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    out.start_error = std::strerror(rc);
    return out;
  }
  out.started = true;
  const auto until = std::chrono::steady_clock::now() + deadline;
  int status = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid)
      break;
    if (r < 0 && errno != EINTR) {
      out.start_error = std::strerror(errno);
      out.started = false;
      return out;
    }
    if (std::chrono::steady_clock::now() >= until) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      out.timed_out = true;
      return out;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  if (WIFEXITED(status)) {
    out.exited = true;
    out.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    out.signal = WTERMSIG(status);
  }
  return out;
}

/// Runs this program again with `args` and `env` (added to this process's environment); waits until it ends or
/// `deadline` passes (then kills it).
inline child_outcome run_self(const std::vector<std::string>& args,
                              const std::vector<std::pair<std::string, std::string>>& env,
                              std::chrono::milliseconds deadline) {
  return run_program("/proc/self/exe", args, env, deadline);
}

} // namespace cairn::test
