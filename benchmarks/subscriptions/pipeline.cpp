#include "pipeline.hpp"

#include <cairn/runtime/detail/messages.hpp>

#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

#include <stdexcept>
#include <thread>

namespace cairn::subbench {

void answer_count::on(const command_result& r) {
  if (!r.ok() && failed_.fetch_add(1) == 0) {
    std::lock_guard guard{mutex_};
    first_failure_ = to_string(r);
  }
  auto n = answered_.fetch_add(1, std::memory_order_acq_rel) + 1;
  if (n == target_)
    done_at_ = clock::now();
  answered_.notify_all();
}

void answer_count::wait_below(std::uint64_t submitted, std::uint64_t window) const {
  for (;;) {
    auto answered = answered_.load(std::memory_order_acquire);
    if (submitted - answered < window)
      return;
    answered_.wait(answered, std::memory_order_acquire);
  }
}

commit_path::commit_path(const std::string& data_dir, bool durable) {
  store::options opts;
  opts.path = data_dir;
  opts.mode = durable ? store::durability::durable : store::durability::buffered;
  auto opened = store::event_store::open(opts);
  if (!opened)
    throw std::runtime_error{"cannot open the store in " + data_dir + ": " + opened.error().to_string()};
  core_.config.data_dir = data_dir;
  core_.store = std::move(opened.value());
  core_.feed = std::make_unique<detail::router>(core_.store->last_position());
  core_.commits = std::make_unique<detail::committer>(*core_.store, *core_.feed, core_.config.max_batch_appends, true);
  config_.set("scheduler.max-threads", std::max(1u, std::thread::hardware_concurrency()));
  config_.set("logger.verbosity", caf::atom("quiet"));
  system_ = std::make_unique<caf::actor_system>(config_);
}

commit_path::~commit_path() {
  stop();
}

std::shared_ptr<detail::route> commit_path::add_subscriber(std::string name, subscriber_handler handler) {
  auto r = std::make_shared<detail::route>();
  r->name = std::move(name);
  r->actor = system_->spawn<detail::subscription_actor, caf::detached>(
    std::ref(core_), std::ref(*core_.feed), r, detail::subscription_handlers{nullptr, std::move(handler), nullptr});
  core_.feed->add(r);
  routes_.push_back(r);
  return r;
}

caf::actor commit_path::answer_actor(answer_count& answers) {
  auto a = system_->spawn([&answers](caf::event_based_actor*) -> caf::behavior {
    return {[&answers](detail::committed_atom, const command_result& r) { answers.on(r); }};
  });
  others_.push_back(a);
  return a;
}

void commit_path::stop() {
  if (!system_)
    return;
  core_.feed->clear();
  for (auto& r : routes_) {
    caf::anon_send_exit(r->actor, caf::exit_reason::user_shutdown);
    r->actor = nullptr;
  }
  for (auto& a : others_)
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  others_.clear();
  core_.commits->stop();
  system_.reset(); // waits for every actor
  core_.commits.reset();
  core_.feed.reset();
  (void) core_.store->flush();
  core_.store.reset();
}

} // namespace cairn::subbench
