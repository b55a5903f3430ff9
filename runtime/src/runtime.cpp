#include <cairn/runtime/runtime.hpp>

#include <cairn/runtime/detail/subscription_actor.hpp>

#include <caf/actor_system_config.hpp>

#include <algorithm>
#include <iostream>
#include <thread>

namespace cairn {

runtime::runtime(runtime_config config) : core_(std::make_unique<detail::runtime_core>()) {
  core_->config = std::move(config);
  core_->budget.max_active = core_->config.max_active;
}

runtime::~runtime() {
  stop();
}

const runtime::registered_base* runtime::type_named(std::string_view type_name) const {
  for (const auto& [index, type] : types_)
    if (type->name() == type_name)
      return type.get();
  return nullptr;
}

const runtime::command_route* runtime::command_route_of(std::type_index command, std::string& why) const {
  auto routes = command_routes_.find(command);
  if (routes == command_routes_.end() || routes->second.empty()) {
    why = "no registered aggregate type takes this command type";
    return nullptr;
  }
  if (routes->second.size() > 1) {
    why = "several registered aggregate types take this command type (";
    for (std::size_t i = 0; i < routes->second.size(); ++i)
      why.append(i == 0 ? "" : ", ").append(routes->second[i].type_name);
    why += "): name the one meant, send<A>(id, command)";
    return nullptr;
  }
  return &routes->second.front();
}

store::status runtime::start() {
  if (system_)
    return store::status{store::ok};
  auto& cfg = core_->config;
  store::options opts;
  opts.path = cfg.data_dir;
  opts.mode = cfg.durability == commit_mode::durable ? store::durability::durable : store::durability::buffered;
  opts.env = cfg.store_env;
  auto opened = store::event_store::open(opts);
  if (!opened)
    return opened.error();
  core_->store = std::move(opened.value());
  core_->feed = std::make_unique<detail::router>(core_->store->last_position());
  core_->commits = std::make_unique<detail::committer>(*core_->store, *core_->feed, cfg.max_batch_appends,
                                                       !cfg.deterministic());
  core_->loader = std::make_unique<detail::work_pool>(cfg.deterministic() ? 0 : std::max<std::size_t>(cfg.max_recoveries, 1));

  system_config_ = std::make_unique<caf::actor_system_config>();
  auto threads = cfg.scheduler_threads != 0 ? cfg.scheduler_threads
                                            : std::max(1u, std::thread::hardware_concurrency());
  system_config_->set("scheduler.max-threads", threads);
  // CAF 0.17's idle worker polls its queue 100 times, then 500 times with a 50 us sleep between polls, and only
  // then blocks on its condition variable. Each of those sleeps is a syscall and a timer that take CPU from the
  // committer on a small machine, and a message from another thread (the committer's answer, a client's command)
  // that arrives during one waits for its end. Without the sleeping phase a worker blocks right after the short
  // busy poll, and an enqueue from outside wakes it at once: a lone buffered command went from ~120 us to ~30 us
  // (docs/runtime.md, "Scheduler tuning"). Longer busy polling was slower: it competes with the committer.
  system_config_->set("work-stealing.moderate-poll-attempts", std::size_t{0});
  if (cfg.deterministic())
    system_config_->set("scheduler.policy", caf::atom("testing"));
  system_config_->set("logger.verbosity", caf::atom("quiet"));
  system_ = std::make_unique<caf::actor_system>(*system_config_);
  for (auto& [index, type] : types_)
    type->start(*system_, *this);
  {
    std::lock_guard guard{subscriptions_mutex_};
    for (auto& [route, handlers] : subscriptions_)
      spawn_subscription(route, handlers);
  }
  if (!cfg.deterministic()) {
    housekeeping_stop_ = false;
    housekeeper_ = std::thread{[this] { housekeep(); }};
  }
  core_->admitting = true;
  for (auto& resume : resume_)
    resume();
  return store::status{store::ok};
}

stop_outcome runtime::stop() {
  stop_outcome outcome;
  if (!system_)
    return outcome;
  core_->admitting = false;
  if (core_->config.deterministic()) {
    core_->config.drive_until_idle(*this);
  } else {
    // A lost answer must not hold the stop forever: past the deadline, say what is outstanding and go on.
    auto deadline = std::chrono::steady_clock::now() + core_->config.stop_timeout;
    while (core_->in_flight.load() != 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::microseconds{200});
  }
  if (core_->in_flight.load() != 0) {
    outcome.complete = false;
    outcome.outstanding = outstanding();
    std::cerr << "cairn: stop() after " << core_->config.stop_timeout.count()
              << " ms without every answer: " << outcome.outstanding << "\n";
  }
  if (housekeeper_.joinable()) {
    {
      std::lock_guard guard{housekeeping_mutex_};
      housekeeping_stop_ = true;
    }
    housekeeping_wake_.notify_all();
    housekeeper_.join();
  }
  for (auto& [index, type] : types_)
    type->shutdown();
  core_->feed->clear(); // first: the committer must not send to a subscription that is going away
  {
    std::lock_guard guard{subscriptions_mutex_};
    for (auto& [route, handlers] : subscriptions_) {
      caf::anon_send_exit(route->actor, caf::exit_reason::user_shutdown);
      route->actor = nullptr;
    }
  }
  core_->commits->stop();
  core_->loader->stop();
  if (core_->config.deterministic())
    core_->config.drive_until_idle(*this);
  system_.reset();
  system_config_.reset();
  core_->commits.reset();
  core_->loader.reset();
  core_->feed.reset();
  (void) core_->store->flush();
  core_->store.reset();
  return outcome;
}

std::string runtime::outstanding() const {
  std::string out = std::to_string(core_->in_flight.load()) + " requests in flight unanswered";
  for (const auto& [index, type] : types_)
    if (auto n = type->active(); n != 0)
      out += "; " + std::to_string(n) + " active " + std::string{type->name()};
  auto c = core_->commits->stats();
  out += "; committer: " + std::to_string(c.appends) + " appends answered in " + std::to_string(c.batches) +
         " writes";
  return out;
}

std::optional<command_result> runtime::admit_id(std::string_view id) {
  if (id.empty() || id.size() > max_aggregate_id_bytes || id.find('\0') != std::string_view::npos)
    return command_result::failure(command_errc::invalid_argument,
                                   "aggregate id must be 1 to 200 bytes without NUL, got " +
                                     std::to_string(id.size()) + " bytes");
  if (!core_->admitting.load(std::memory_order_relaxed))
    return command_result::failure(command_errc::shutting_down, "the runtime is not running");
  auto before = core_->in_flight.fetch_add(1, std::memory_order_relaxed);
  if (before >= core_->config.max_in_flight) {
    core_->in_flight.fetch_sub(1, std::memory_order_relaxed);
    return command_result::failure(command_errc::overloaded, "more than " +
                                                               std::to_string(core_->config.max_in_flight) +
                                                               " requests in flight");
  }
  return std::nullopt;
}

void runtime::housekeep() {
  using namespace std::chrono;
  auto idle = std::max(core_->config.idle_timeout, milliseconds{1});
  auto period = std::clamp(duration_cast<milliseconds>(idle / 4), milliseconds{1}, milliseconds{1000});
  auto idle_ticks = static_cast<std::uint32_t>((idle + period - milliseconds{1}) / period);
  std::unique_lock lock{housekeeping_mutex_};
  while (!housekeeping_wake_.wait_for(lock, period, [this] { return housekeeping_stop_; })) {
    for (auto& [index, type] : types_) {
      type->instances()->tick();
      type->instances()->passivate_idle(idle_ticks);
    }
  }
}

command_result runtime::add_projection(std::string name, projection_handler handler) {
  return add_subscription(std::move(name), detail::subscription_handlers{std::move(handler), nullptr, nullptr});
}

command_result runtime::add_subscriber(std::string name, subscriber_handler handler) {
  return add_subscription(std::move(name), detail::subscription_handlers{nullptr, std::move(handler), nullptr});
}

command_result runtime::add_policy(std::string name, policy_handler handler) {
  return add_subscription(std::move(name), detail::subscription_handlers{nullptr, nullptr, std::move(handler)});
}

command_result runtime::add_subscription(std::string name, detail::subscription_handlers handlers) {
  if (name.empty() || name.size() > 200 || name.find('/') != std::string::npos)
    return command_result::failure(command_errc::invalid_argument,
                                   "subscription name must be 1 to 200 bytes without '/': \"" + name + "\"");
  std::lock_guard guard{subscriptions_mutex_};
  for (auto& [route, h] : subscriptions_)
    if (route->name == name)
      return command_result::failure(command_errc::invalid_argument, "subscription " + name + " exists already");
  auto route = std::make_shared<detail::route>();
  route->name = std::move(name);
  subscriptions_.emplace_back(route, std::move(handlers));
  if (system_)
    spawn_subscription(route, subscriptions_.back().second);
  return command_result{};
}

void runtime::spawn_subscription(const std::shared_ptr<detail::route>& r,
                                 const detail::subscription_handlers& handlers) {
  // Not yet in the router: nobody else reads these. A subscription starts off the live feed, catching up.
  r->live = false;
  r->credits = 0;
  r->actor = system_->spawn<detail::subscription_actor, caf::detached>(std::ref(*core_), std::ref(*core_->feed), r,
                                                                      handlers);
  core_->feed->add(r);
}

std::vector<subscription_status> runtime::subscriptions() const {
  std::vector<subscription_status> out;
  std::uint64_t last = core_->feed ? core_->feed->last_published() : 0;
  std::lock_guard guard{subscriptions_mutex_};
  for (auto& [route, handlers] : subscriptions_) {
    auto position = route->position.load();
    out.push_back(subscription_status{route->name, position, last > position ? last - position : 0,
                                      core_->feed ? core_->feed->is_live(*route) : false});
  }
  return out;
}

caf::actor_system& runtime::system() {
  return *system_;
}

store::event_store& runtime::store() {
  return *core_->store;
}

store::store_health runtime::storage_health() {
  if (!core_->store)
    return store::store_health{false, "the store is not open"};
  return core_->store->check_health();
}

runtime_stats runtime::stats() const {
  runtime_stats s;
  for (auto& [index, type] : types_)
    s.active_instances += type->active();
  s.in_flight = core_->in_flight.load();
  s.reloads = core_->reloads.load();
  if (core_->commits) {
    auto c = core_->commits->stats();
    s.batches = c.batches;
    s.appends = c.appends;
    s.largest_batch = c.largest_batch;
  }
  if (core_->store) {
    auto st = core_->store->stats();
    s.store_syncs = st.syncs;
    s.store_events = st.events;
  }
  return s;
}

std::size_t runtime::run_queued_work() {
  if (!system_ || !core_->config.deterministic())
    return 0;
  std::size_t n = 0;
  if (core_->loader)
    n += core_->loader->run_pending();
  if (core_->commits)
    n += core_->commits->run_once();
  return n;
}

} // namespace cairn
