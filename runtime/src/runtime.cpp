#include <cairn/runtime/runtime.hpp>

#include <cairn/runtime/cluster_map.hpp>
#include <cairn/runtime/detail/cluster_link.hpp>

#include <cairn/runtime/detail/instance_actor.hpp>
#include <cairn/runtime/detail/messages.hpp>
#include <cairn/runtime/detail/runtime_core.hpp>
#include <cairn/runtime/detail/subscription_actor.hpp>
#include <cairn/runtime/detail/type_slot.hpp>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/send.hpp>

#include <algorithm>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <thread>

namespace cairn {

/// What the runtime keeps out of its public header: the actor system, the shared core, every type's directory,
/// the subscriptions and the housekeeping thread.
struct runtime::impl {
  detail::runtime_core core;
  std::unique_ptr<caf::actor_system_config> system_config;
  std::unique_ptr<caf::actor_system> system;
  /// One per registered type, in registration order.
  std::vector<std::unique_ptr<detail::type_slot>> slots;
  /// Subscriptions by name, with what they do; spawned at start (or when added to a running runtime).
  std::vector<std::pair<std::shared_ptr<detail::route>, detail::subscription_handlers>> subscriptions;
  mutable std::mutex subscriptions_mutex;
  /// Actors that live until stop() (the CAF-native gateways).
  std::vector<caf::actor> stop_with;
  std::mutex stop_with_mutex;
  std::mutex housekeeping_mutex;
  std::condition_variable housekeeping_wake;
  bool housekeeping_stop = false;
  std::thread housekeeper;
  /// A cluster node's links to its peers (runtime_config::cluster), from start() to stop().
  std::unique_ptr<detail::cluster_link> link;

  command_result add_subscription(std::string name, detail::subscription_handlers handlers);
  void spawn_subscription(const std::shared_ptr<detail::route>& r, const detail::subscription_handlers& handlers);
  void start_types(caf::actor_system& sys);
  void stop_types();
  /// Activates every instance of a process manager type that has commands due (after a crash, nothing else would).
  void resume_open_processes(detail::type_slot& slot);
  void dispatch(detail::type_slot& slot, std::string_view id, binding::request_ptr&& request);
};

runtime::runtime(runtime_config config) : impl_(std::make_unique<impl>()) {
  impl_->core.config = std::move(config);
  impl_->core.budget.max_active = impl_->core.config.max_active;
}

runtime::~runtime() {
  stop();
}

void runtime::attach(binding::type_binding& type) {
  impl_->slots.push_back(std::make_unique<detail::type_slot>(type, impl_->core));
  type.slot = impl_->slots.back().get();
}

const binding::type_binding* runtime::type_named(std::string_view type_name) const {
  for (const auto& [index, type] : types_)
    if (type->name() == type_name)
      return type.get();
  return nullptr;
}

bool runtime::started() const noexcept {
  return impl_->system != nullptr;
}

bool runtime::running() const noexcept {
  return impl_->core.admitting.load();
}

const runtime_config& runtime::config() const noexcept {
  return impl_->core.config;
}

std::chrono::milliseconds runtime::answer_wait() const noexcept {
  return impl_->core.config.command_timeout + impl_->core.config.stop_timeout;
}

std::chrono::steady_clock::time_point runtime::command_deadline() const noexcept {
  return std::chrono::steady_clock::now() + impl_->core.config.command_timeout;
}

void runtime::refuse(const binding::request& request, command_result why) {
  if (request.on_query)
    request.on_query(nullptr, why);
  else
    request.on_result(std::move(why));
}

void runtime::submit(binding::type_binding& type, std::string_view id, binding::request_ptr request) {
  auto& core = impl_->core;
  if (id.empty() || id.size() > max_aggregate_id_bytes || id.find('\0') != std::string_view::npos)
    return refuse(*request, command_result::failure(command_errc::invalid_argument,
                                                    "aggregate id must be 1 to 200 bytes without NUL, got " +
                                                      std::to_string(id.size()) + " bytes"));
  if (!core.admitting.load(std::memory_order_relaxed))
    return refuse(*request, command_result::failure(command_errc::shutting_down, "the runtime is not running"));
  if (const auto& cluster = core.config.cluster)
    if (const auto& owner = cluster->owner_of(type.name(), id); owner.id != core.config.node_id) {
      if (request->on_query)
        return refuse(*request, command_result::failure(
                                  command_errc::unavailable,
                                  std::string{type.name()} + " " + std::string{id} + " is owned by node " +
                                    owner.id + ": queries are not forwarded yet"));
      detail::forwarded_command out{std::string{type.name()}, std::string{id}, type.encode_command(*request),
                                    request->cause, request->expected_version};
      return impl_->link->forward(owner, std::move(out), std::move(request->on_result));
    }
  auto before = core.in_flight.fetch_add(1, std::memory_order_relaxed);
  if (before >= core.config.max_in_flight) {
    core.in_flight.fetch_sub(1, std::memory_order_relaxed);
    return refuse(*request, command_result::failure(command_errc::overloaded,
                                                    "more than " + std::to_string(core.config.max_in_flight) +
                                                      " requests in flight"));
  }
  impl_->dispatch(*type.slot, id, std::move(request));
}

void runtime::serve_forwarded(detail::forwarded_command in, binding::result_callback done) {
  binding::type_binding* type = nullptr;
  for (auto& [index, t] : types_)
    if (t->name() == in.type_name)
      type = t.get();
  if (type == nullptr)
    return done(command_result::failure(command_errc::invalid_argument,
                                        "aggregate type " + in.type_name + " is not registered on node " +
                                          impl_->core.config.node_id));
  auto request = type->decode_command(in.command);
  if (!request)
    return done(command_result::failure(command_errc::invalid_argument, "a forwarded " + in.type_name +
                                                                          " command does not decode"));
  request->on_result = std::move(done);
  request->deadline = command_deadline();
  request->cause = std::move(in.cause);
  request->expected_version = in.expected_version;
  submit(*type, in.id, std::move(request));
}

void runtime::impl::dispatch(detail::type_slot& slot, std::string_view id, binding::request_ptr&& request) {
  slot.instances->dispatch(id, [&request](const caf::actor& instance) {
    caf::anon_send(instance, std::move(request));
  });
}

void runtime::impl::start_types(caf::actor_system& sys) {
  for (auto& slot : slots)
    slot->instances = std::make_unique<detail::directory>(
      [&sys, s = slot.get()](const std::string& id, detail::directory_entry* entry) {
        return sys.spawn<detail::instance_actor, caf::lazy_init>(std::ref(*s), id, entry);
      },
      core.budget);
}

void runtime::impl::stop_types() {
  {
    std::lock_guard guard{stop_with_mutex};
    for (auto& actor : stop_with)
      caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
    stop_with.clear();
  }
  for (auto& slot : slots)
    if (slot->instances)
      slot->instances->shutdown();
}

void runtime::impl::resume_open_processes(detail::type_slot& slot) {
  auto prefix = std::string{detail::open_process_prefix} + stream_prefix(slot.type.name());
  std::string after;
  for (;;) {
    auto page = core.store->scan_runtime(prefix, after, 1024);
    if (!page || page->empty())
      return;
    for (const auto& [key, value] : *page) {
      auto activate = std::make_shared<binding::request>();
      activate->on_query = [](const void*, const command_result&) {};
      auto id = std::string_view{key}.substr(prefix.size());
      // Counted in flight like any query: the instance's answer (to nobody) counts it out.
      core.in_flight.fetch_add(1, std::memory_order_relaxed);
      dispatch(slot, id, std::move(activate));
    }
    after = page->back().first;
  }
}

std::vector<std::string> runtime::connected_peers() const {
  return impl_->link ? impl_->link->connected_peers() : std::vector<std::string>{};
}

void runtime::stop_with(const caf::actor& actor) {
  std::lock_guard guard{impl_->stop_with_mutex};
  impl_->stop_with.push_back(actor);
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
  if (impl_->system)
    return store::status{store::ok};
  auto& cfg = impl_->core.config;
  if (cfg.cluster && cfg.cluster->node(cfg.node_id) == nullptr)
    return store::error{store::errc::invalid_argument,
                        "node id \"" + cfg.node_id + "\" is not in the cluster map (" + cfg.cluster->to_text() + ")"};
  store::options opts;
  opts.path = cfg.data_dir;
  opts.mode = cfg.durability == commit_mode::durable ? store::durability::durable : store::durability::buffered;
  opts.env = cfg.store_env;
  auto opened = store::event_store::open(opts);
  if (!opened)
    return opened.error();
  if (cfg.cluster)
    if (auto owned = check_store_ownership(**opened, *cfg.cluster, cfg.node_id); !owned)
      return owned.error();
  impl_->core.store = std::move(opened.value());
  impl_->core.feed = std::make_unique<detail::router>(impl_->core.store->last_position());
  impl_->core.commits = std::make_unique<detail::committer>(*impl_->core.store, *impl_->core.feed, cfg.max_batch_appends,
                                                       !cfg.deterministic());
  impl_->core.loader = std::make_unique<detail::work_pool>(cfg.deterministic() ? 0 : std::max<std::size_t>(cfg.max_recoveries, 1));

  impl_->system_config = std::make_unique<caf::actor_system_config>();
  auto threads = cfg.scheduler_threads != 0 ? cfg.scheduler_threads
                                            : std::max(1u, std::thread::hardware_concurrency());
  impl_->system_config->set("scheduler.max-threads", threads);
  // CAF 0.17's idle worker polls its queue 100 times, then 500 times with a 50 us sleep between polls, and only
  // then blocks on its condition variable. Each of those sleeps is a syscall and a timer that take CPU from the
  // committer on a small machine, and a message from another thread (the committer's answer, a client's command)
  // that arrives during one waits for its end. Without the sleeping phase a worker blocks right after the short
  // busy poll, and an enqueue from outside wakes it at once: a lone buffered command went from ~120 us to ~30 us
  // (docs/runtime.md, "Scheduler tuning"). Longer busy polling was slower: it competes with the committer.
  impl_->system_config->set("work-stealing.moderate-poll-attempts", std::size_t{0});
  if (cfg.deterministic())
    impl_->system_config->set("scheduler.policy", caf::atom("testing"));
  if (cfg.cluster) {
    impl_->system_config->load<caf::io::middleman>();
    // A peer that stops answering (killed, frozen, cut off) is noticed within about a second, so that commands
    // for its partitions are answered `unavailable` quickly (docs/cluster.md).
    impl_->system_config->set("middleman.heartbeat-interval", caf::timespan{std::chrono::milliseconds{200}});
    impl_->system_config->set("middleman.connection-timeout", caf::timespan{std::chrono::milliseconds{1000}});
  }
  impl_->system_config->set("logger.verbosity", caf::atom("quiet"));
  impl_->system = std::make_unique<caf::actor_system>(*impl_->system_config);
  impl_->start_types(*impl_->system);
  {
    std::lock_guard guard{impl_->subscriptions_mutex};
    for (auto& [route, handlers] : impl_->subscriptions)
      impl_->spawn_subscription(route, handlers);
  }
  if (!cfg.deterministic()) {
    impl_->housekeeping_stop = false;
    impl_->housekeeper = std::thread{[this] { housekeep(); }};
  }
  if (cfg.cluster) {
    impl_->link = std::make_unique<detail::cluster_link>(
      *impl_->system, *cfg.cluster, cfg.node_id, cfg.command_timeout,
      [this](detail::forwarded_command in, binding::result_callback done) { serve_forwarded(std::move(in), std::move(done)); });
    if (auto linked = impl_->link->start(); !linked) {
      impl_->core.admitting = true; // stop() below expects a started runtime
      stop();
      return linked.error();
    }
  }
  impl_->core.admitting = true;
  for (auto& slot : impl_->slots)
    if (slot->type.is_process_manager())
      impl_->resume_open_processes(*slot);
  return store::status{store::ok};
}

stop_outcome runtime::stop() {
  stop_outcome outcome;
  if (!impl_->system)
    return outcome;
  impl_->core.admitting = false;
  if (impl_->core.config.deterministic()) {
    impl_->core.config.drive_until_idle(*this);
  } else {
    // A lost answer must not hold the stop forever: past the deadline, say what is outstanding and go on.
    auto deadline = std::chrono::steady_clock::now() + impl_->core.config.stop_timeout;
    while (impl_->core.in_flight.load() != 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::microseconds{200});
  }
  if (impl_->core.in_flight.load() != 0) {
    outcome.complete = false;
    outcome.outstanding = outstanding();
    std::cerr << "cairn: stop() after " << impl_->core.config.stop_timeout.count()
              << " ms without every answer: " << outcome.outstanding << "\n";
  }
  if (impl_->link)
    impl_->link->stop(); // its actors may still run until the actor system is gone: it is released after that
  if (impl_->housekeeper.joinable()) {
    {
      std::lock_guard guard{impl_->housekeeping_mutex};
      impl_->housekeeping_stop = true;
    }
    impl_->housekeeping_wake.notify_all();
    impl_->housekeeper.join();
  }
  impl_->stop_types();
  impl_->core.feed->clear(); // first: the committer must not send to a subscription that is going away
  {
    std::lock_guard guard{impl_->subscriptions_mutex};
    for (auto& [route, handlers] : impl_->subscriptions) {
      caf::anon_send_exit(route->actor, caf::exit_reason::user_shutdown);
      route->actor = nullptr;
    }
  }
  impl_->core.commits->stop();
  impl_->core.loader->stop();
  if (impl_->core.config.deterministic())
    impl_->core.config.drive_until_idle(*this);
  impl_->system.reset();
  impl_->link.reset();
  impl_->system_config.reset();
  impl_->core.commits.reset();
  impl_->core.loader.reset();
  impl_->core.feed.reset();
  (void) impl_->core.store->flush();
  impl_->core.store.reset();
  return outcome;
}

std::string runtime::outstanding() const {
  std::string out = std::to_string(impl_->core.in_flight.load()) + " requests in flight unanswered";
  for (const auto& slot : impl_->slots)
    if (auto n = slot->instances ? slot->instances->size() : 0; n != 0)
      out += "; " + std::to_string(n) + " active " + std::string{slot->type.name()};
  auto c = impl_->core.commits->stats();
  out += "; committer: " + std::to_string(c.appends) + " appends answered in " + std::to_string(c.batches) +
         " writes";
  return out;
}

void runtime::housekeep() {
  using namespace std::chrono;
  auto idle = std::max(impl_->core.config.idle_timeout, milliseconds{1});
  auto period = std::clamp(duration_cast<milliseconds>(idle / 4), milliseconds{1}, milliseconds{1000});
  auto idle_ticks = static_cast<std::uint32_t>((idle + period - milliseconds{1}) / period);
  std::unique_lock lock{impl_->housekeeping_mutex};
  while (!impl_->housekeeping_wake.wait_for(lock, period, [this] { return impl_->housekeeping_stop; })) {
    for (auto& slot : impl_->slots) {
      slot->instances->tick();
      slot->instances->passivate_idle(idle_ticks);
    }
  }
}

command_result runtime::add_projection(std::string name, projection_handler handler) {
  return impl_->add_subscription(std::move(name), detail::subscription_handlers{std::move(handler), nullptr, nullptr});
}

command_result runtime::add_subscriber(std::string name, subscriber_handler handler) {
  return impl_->add_subscription(std::move(name), detail::subscription_handlers{nullptr, std::move(handler), nullptr});
}

command_result runtime::add_policy(std::string name, policy_handler handler) {
  return impl_->add_subscription(std::move(name), detail::subscription_handlers{nullptr, nullptr, std::move(handler)});
}

command_result runtime::impl::add_subscription(std::string name, detail::subscription_handlers handlers) {
  if (name.empty() || name.size() > 200 || name.find('/') != std::string::npos)
    return command_result::failure(command_errc::invalid_argument,
                                   "subscription name must be 1 to 200 bytes without '/': \"" + name + "\"");
  std::lock_guard guard{subscriptions_mutex};
  for (auto& [route, h] : subscriptions)
    if (route->name == name)
      return command_result::failure(command_errc::invalid_argument, "subscription " + name + " exists already");
  auto route = std::make_shared<detail::route>();
  route->name = std::move(name);
  subscriptions.emplace_back(route, std::move(handlers));
  if (system)
    spawn_subscription(route, subscriptions.back().second);
  return command_result{};
}

void runtime::impl::spawn_subscription(const std::shared_ptr<detail::route>& r,
                                 const detail::subscription_handlers& handlers) {
  // Not yet in the router: nobody else reads these. A subscription starts off the live feed, catching up.
  r->live = false;
  r->credits = 0;
  r->actor = system->spawn<detail::subscription_actor, caf::detached>(std::ref(core), std::ref(*core.feed), r, handlers);
  core.feed->add(r);
}

std::vector<subscription_status> runtime::subscriptions() const {
  std::vector<subscription_status> out;
  std::uint64_t last = impl_->core.feed ? impl_->core.feed->last_published() : 0;
  std::lock_guard guard{impl_->subscriptions_mutex};
  for (auto& [route, handlers] : impl_->subscriptions) {
    auto position = route->position.load();
    out.push_back(subscription_status{route->name, position, last > position ? last - position : 0,
                                      impl_->core.feed ? impl_->core.feed->is_live(*route) : false});
  }
  return out;
}

caf::actor_system& runtime::system() {
  return *impl_->system;
}

store::event_store& runtime::store() {
  return *impl_->core.store;
}

store::store_health runtime::storage_health() {
  if (!impl_->core.store)
    return store::store_health{false, "the store is not open"};
  return impl_->core.store->check_health();
}

runtime_stats runtime::stats() const {
  runtime_stats s;
  for (const auto& slot : impl_->slots)
    s.active_instances += slot->instances ? slot->instances->size() : 0;
  s.in_flight = impl_->core.in_flight.load();
  s.reloads = impl_->core.reloads.load();
  if (impl_->core.commits) {
    auto c = impl_->core.commits->stats();
    s.batches = c.batches;
    s.appends = c.appends;
    s.largest_batch = c.largest_batch;
  }
  if (impl_->core.store) {
    auto st = impl_->core.store->stats();
    s.store_syncs = st.syncs;
    s.store_events = st.events;
  }
  return s;
}

std::size_t runtime::run_queued_work() {
  if (!impl_->system || !impl_->core.config.deterministic())
    return 0;
  std::size_t n = 0;
  if (impl_->core.loader)
    n += impl_->core.loader->run_pending();
  if (impl_->core.commits)
    n += impl_->core.commits->run_once();
  return n;
}

} // namespace cairn
