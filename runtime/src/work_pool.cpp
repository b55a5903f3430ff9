#include <cairn/runtime/detail/work_pool.hpp>

namespace cairn::detail {

work_pool::work_pool(std::size_t threads) {
  threads_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i)
    threads_.emplace_back([this] { work(); });
}

work_pool::~work_pool() {
  stop();
}

void work_pool::post(std::function<void()> job) {
  {
    std::lock_guard guard{mutex_};
    jobs_.push_back(std::move(job));
  }
  wake_.notify_one();
}

std::size_t work_pool::run_pending() {
  std::size_t count = 0;
  for (;;) {
    std::function<void()> job;
    {
      std::lock_guard guard{mutex_};
      if (jobs_.empty())
        return count;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
    ++count;
  }
}

void work_pool::stop() {
  {
    std::lock_guard guard{mutex_};
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_)
    t.join();
  threads_.clear();
  run_pending();
}

void work_pool::work() {
  std::unique_lock lock{mutex_};
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
    if (jobs_.empty())
      return;
    auto job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    job();
    lock.lock();
  }
}

} // namespace cairn::detail
