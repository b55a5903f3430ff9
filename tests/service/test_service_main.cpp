// The order-service program itself (build/bin/order-service, run as a child process): how it starts and refuses
// to start.
#include <support/temp_dir.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

using cairn::test::temp_dir;

namespace {

/// order-service with `args`, its stdout and stderr read through pipes.
class service_process {
public:
  explicit service_process(const std::vector<std::string>& args) {
    REQUIRE(::pipe(out_) == 0);
    REQUIRE(::pipe(err_) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out_[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err_[1], 2);
    std::vector<std::string> all{CAIRN_ORDER_SERVICE_PATH};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    REQUIRE(::posix_spawn(&pid_, CAIRN_ORDER_SERVICE_PATH, &actions, nullptr, argv.data(), environ) == 0);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out_[1]);
    ::close(err_[1]);
  }
  ~service_process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(out_[0]);
    ::close(err_[0]);
  }

  /// Stdout until it contains `text`; nullopt when it ended or `deadline` passed first.
  std::optional<std::string> wait_for_output(const std::string& text, std::chrono::seconds deadline) {
    auto until = std::chrono::steady_clock::now() + deadline;
    while (out_text_.find(text) == std::string::npos) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
      pollfd p{out_[0], POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0)
        return std::nullopt;
      char buf[512];
      auto n = ::read(out_[0], buf, sizeof buf);
      if (n <= 0)
        return std::nullopt;
      out_text_.append(buf, static_cast<std::size_t>(n));
    }
    return out_text_;
  }

  /// The exit code once it exited (within `deadline`, else it is killed and the test fails), and its stderr.
  std::pair<int, std::string> wait_exit(std::chrono::seconds deadline) {
    auto until = std::chrono::steady_clock::now() + deadline;
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > until)
        FAIL("order-service did not exit within " << deadline.count() << " s");
      std::this_thread::sleep_for(std::chrono::milliseconds{20});
    }
    pid_ = 0;
    std::string err;
    char buf[512];
    ssize_t n = 0;
    while ((n = ::read(err_[0], buf, sizeof buf)) > 0)
      err.append(buf, static_cast<std::size_t>(n));
    REQUIRE(WIFEXITED(status));
    return {WEXITSTATUS(status), err};
  }

  void signal(int sig) {
    ::kill(pid_, sig);
  }

private:
  pid_t pid_ = 0;
  int out_[2]{-1, -1};
  int err_[2]{-1, -1};
  std::string out_text_;
};

} // namespace

TEST_CASE("a port in use is refused before the data folder is created", "[service][main]") {
  temp_dir dir;
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor taken{ioc, {boost::asio::ip::make_address("127.0.0.1"), 0}};
  auto port = std::to_string(taken.local_endpoint().port());
  service_process p{{"--listen", "127.0.0.1:" + port, "--data-dir", dir.sub("data")}};
  auto [code, err] = p.wait_exit(std::chrono::seconds{20});
  INFO(err);
  CHECK(code == 1);
  CHECK(err.find("cannot bind 127.0.0.1:" + port) != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir.sub("data")));
}

TEST_CASE("the listen address may be a host name with port 0, and SIGTERM stops the service with exit 0", "[service][main]") {
  temp_dir dir;
  service_process p{{"--listen", "localhost:0", "--data-dir", dir.sub("data")}};
  auto out = p.wait_for_output("listening on http://", std::chrono::seconds{20});
  REQUIRE(out);
  CHECK(out->find(":0 ") == std::string::npos); // the port the system chose, not 0
  p.signal(SIGTERM);
  auto [code, err] = p.wait_exit(std::chrono::seconds{20});
  INFO(err);
  CHECK(code == 0);
}
