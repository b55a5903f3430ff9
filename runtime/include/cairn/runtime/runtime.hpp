// The cairn runtime: what a server embeds. It owns the CAF actor system, the event store, the committer and the
// activation directory of every registered aggregate type, and it is the door through which commands and queries
// reach aggregate instances.
//
//   cairn::runtime rt{cfg};
//   rt.register_aggregate<cairn::domains::order>();
//   if (auto started = rt.start(); !started) { ... started.error() ... }
//   rt.send<cairn::domains::order>("o-1", create_order{"c-9"}, [](cairn::command_result r) { ... });
//   auto r = rt.execute<cairn::domains::order>("o-1", add_line{...});   // blocking convenience
//   rt.stop();                                                           // graceful: loses nothing
//
// Three ways to send a command, one semantics (an instance takes its commands one at a time; "accepted" means
// committed, in the configured durability):
//   * send(id, command, callback): asynchronous; the callback runs once, on a CAF thread: keep it short.
//   * ask(id, command): a std::future; execute(id, command): blocking, for tests and tools.
//   * CAF-native: request(rt.gateway<A>(), timeout, std::string{id}, command) from a user's actor; the reply is
//     a command_result.
//
// Thread-safety: register_aggregate(), start() and stop() from one controlling thread; everything else from any
// thread, concurrently, between start() and stop().
#pragma once

#include <cairn/aggregate.hpp>
#include <cairn/runtime/command_result.hpp>
#include <cairn/runtime/config.hpp>
#include <cairn/runtime/detail/aggregate_actor.hpp>
#include <cairn/runtime/detail/gateway.hpp>
#include <cairn/runtime/detail/messages.hpp>
#include <cairn/runtime/detail/runtime_core.hpp>
#include <cairn/store/result.hpp>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <typeindex>
#include <unordered_map>

namespace cairn {

/// The answer to a query: a copy of the committed state, or why there is none.
template <aggregate A>
struct query_result {
  command_result status;
  std::optional<aggregate_root<A>> root;

  bool ok() const noexcept {
    return root.has_value();
  }
};

/// Counters of a running runtime.
struct runtime_stats {
  std::size_t active_instances = 0;
  std::size_t in_flight = 0;
  std::uint64_t batches = 0;          ///< RocksDB writes by the committer
  std::uint64_t appends = 0;          ///< appends answered by the committer
  std::uint64_t largest_batch = 0;
  std::uint64_t store_syncs = 0;      ///< fsyncs of the WAL
  std::uint64_t store_events = 0;     ///< events committed
};

/// Ids of aggregate instances: 1 to 200 bytes, no NUL.
inline constexpr std::size_t max_aggregate_id_bytes = 200;

class runtime {
public:
  explicit runtime(runtime_config config);
  ~runtime();
  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  /// Makes an aggregate type known; call before start().
  template <aggregate A>
  void register_aggregate() {
    auto type = std::make_unique<registered<A>>(*core_);
    types_.emplace(std::type_index{typeid(A)}, std::move(type));
  }

  /// The codec of a registered type, to add upcasters before start().
  template <aggregate A>
  store::event_codec<typename A::event>& codec() {
    return type_of<A>()->type.codec;
  }

  /// Opens the store and starts the actors. Errors are the store's (not_a_database, locked, ...).
  store::status start();

  /// Graceful stop: stops admitting (new requests get shutting_down), answers every request in flight, writes
  /// what is queued, stops the actors, syncs and closes the store. Idempotent.
  void stop();

  bool running() const noexcept {
    return core_->admitting.load();
  }

  /// Sends a command; `on_result` is called exactly once (on a CAF thread, or at once on this thread when the
  /// command is refused at the door: overloaded, shutting_down, invalid_argument).
  template <aggregate A, class Command>
  void send(std::string_view id, Command command, std::function<void(command_result)> on_result) {
    detail::request_envelope<A> request{typename A::command{std::move(command)}, std::move(on_result), nullptr,
                                        std::chrono::steady_clock::now() + core_->config.command_timeout};
    if (auto refused = admit<A>(id)) {
      request.on_result(std::move(*refused));
      return;
    }
    route<A>(id, std::move(request));
  }

  template <aggregate A, class Command>
  std::future<command_result> ask(std::string_view id, Command command) {
    auto promise = std::make_shared<std::promise<command_result>>();
    auto future = promise->get_future();
    send<A>(id, std::move(command), [promise](command_result r) { promise->set_value(std::move(r)); });
    return future;
  }

  /// Blocks until the command is answered. Not for the hot path.
  template <aggregate A, class Command>
  command_result execute(std::string_view id, Command command) {
    return ask<A>(id, std::move(command)).get();
  }

  /// Reads the committed state of an instance (never a pending one); `f` runs on the instance's actor with a
  /// pointer valid only during the call (nullptr when there is no such aggregate).
  template <aggregate A>
  void query(std::string_view id, std::function<void(const aggregate_root<A>*, const command_result&)> f) {
    detail::request_envelope<A> request{{}, nullptr, std::move(f), {}};
    if (auto refused = admit<A>(id)) {
      request.on_query(nullptr, *refused);
      return;
    }
    route<A>(id, std::move(request));
  }

  /// Blocking copy of the committed state.
  template <aggregate A>
  query_result<A> get(std::string_view id) {
    std::promise<query_result<A>> promise;
    query<A>(id, [&promise](const aggregate_root<A>* root, const command_result& status) {
      query_result<A> r{status, std::nullopt};
      if (root != nullptr)
        r.root = *root;
      promise.set_value(std::move(r));
    });
    return promise.get_future().get();
  }

  /// The CAF-native entry of a registered type: answers (std::string id, Command) with a command_result.
  template <aggregate A>
  caf::actor gateway() {
    return type_of<A>()->gateway;
  }

  caf::actor_system& system();
  store::event_store& store();
  const runtime_config& config() const noexcept {
    return core_->config;
  }
  runtime_stats stats() const;

  /// Deterministic mode only (config.deterministic): runs actors, activations and commits on the calling thread
  /// until nothing is left to do; returns the number of steps taken.
  std::size_t run_until_idle();

private:
  struct registered_base {
    virtual ~registered_base() = default;
    virtual void start(caf::actor_system& sys, runtime& rt) = 0;
    virtual void shutdown() = 0;
    virtual std::size_t active() const = 0;
    virtual detail::directory* instances() = 0;
  };

  template <aggregate A>
  struct registered final : registered_base {
    explicit registered(detail::runtime_core& core) : type(core) {}

    void start(caf::actor_system& sys, runtime& rt) override {
      type.instances = std::make_unique<detail::directory>(
        [this, &sys](const std::string& id, detail::directory_entry* entry) {
          return sys.spawn<detail::aggregate_actor<A>, caf::lazy_init>(std::ref(type), id, entry);
        },
        type.core.budget);
      gateway = sys.spawn(detail::gateway_actor<A, runtime>, &rt);
    }

    void shutdown() override {
      caf::anon_send_exit(gateway, caf::exit_reason::user_shutdown);
      gateway = nullptr;
      if (type.instances)
        type.instances->shutdown();
    }

    std::size_t active() const override {
      return type.instances ? type.instances->size() : 0;
    }

    detail::directory* instances() override {
      return type.instances.get();
    }

    detail::aggregate_type<A> type;
    caf::actor gateway;
  };

  template <aggregate A>
  registered<A>* type_of() {
    auto i = types_.find(std::type_index{typeid(A)});
    return i == types_.end() ? nullptr : static_cast<registered<A>*>(i->second.get());
  }

  /// Admission at the door: nullopt when admitted (and counted in flight), else the refusal.
  template <aggregate A>
  std::optional<command_result> admit(std::string_view id) {
    if (type_of<A>() == nullptr)
      return command_result::failure(command_errc::invalid_argument,
                                     "aggregate type " + std::string{A::type_name} + " is not registered");
    return admit_id(id);
  }

  std::optional<command_result> admit_id(std::string_view id);

  /// The housekeeping thread: advances the directories' clocks and passivates idle instances.
  void housekeep();

  template <aggregate A>
  void route(std::string_view id, detail::request_envelope<A>&& request) {
    type_of<A>()->type.instances->dispatch(
      id, [&request](const caf::actor& instance) { caf::anon_send(instance, std::move(request)); });
  }

  std::unique_ptr<detail::runtime_core> core_;
  std::unique_ptr<caf::actor_system_config> system_config_;
  std::unique_ptr<caf::actor_system> system_;
  std::unordered_map<std::type_index, std::unique_ptr<registered_base>> types_;
  std::mutex housekeeping_mutex_;
  std::condition_variable housekeeping_wake_;
  bool housekeeping_stop_ = false;
  std::thread housekeeper_;
};

} // namespace cairn
