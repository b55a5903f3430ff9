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
//   * CAF-native: request(cairn::spawn_gateway<A>(rt), timeout, std::string{id}, command) from a user's actor
//     (gateway.hpp); the reply is a command_result.
// A command may name the version it expects (expect_version.hpp): send(id, command, expect_version{7}, callback),
// ask(id, command, expect_version{7}), execute(id, command, expect_version{7}); `conflict` when it is not there.
//
// The unit of work (working_copy.hpp): load<A>(id) gives a local copy of the committed state, commands executed on
// the copy change only the copy and keep their events pending, and save(copy) commits all of them as one append
// through the instance, expecting the copy's base version (`conflict` when the stream moved, nothing written):
//   auto copy = std::move(*rt.load<A>("agg-1").copy);
//   copy.execute(create_example{});
//   auto saved = rt.save(copy);                                        // blocking; save(copy, callback) does not
//
// Thread-safety: register_aggregate(), start() and stop() from one controlling thread; everything else from any
// thread, concurrently, between start() and stop().
#pragma once

#include <cairn/aggregate.hpp>
#include <cairn/process_manager.hpp>
#include <cairn/runtime/command_result.hpp>
#include <cairn/runtime/config.hpp>
#include <cairn/runtime/expect_version.hpp>
#include <cairn/runtime/subscription.hpp>
#include <cairn/runtime/type_binding.hpp>
#include <cairn/runtime/typed_events.hpp>
#include <cairn/working_copy.hpp>
#include <cairn/store/result.hpp>

#include <chrono>
#include <concepts>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <variant>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeindex>
#include <unordered_map>

namespace caf {
class actor;
class actor_system;
} // namespace caf

namespace cairn {

namespace detail {
struct forwarded_command;
}

/// The answer to a query: a copy of the committed state, or why there is none.
template <aggregate A>
struct query_result {
  command_result status;
  std::optional<aggregate_root<A>> root;

  bool ok() const noexcept {
    return root.has_value();
  }
};

/// The answer to a command sent with a view: its result and, when it was accepted, what the view read from the
/// state the command left (so that the caller need not query again).
template <class T>
struct command_reply {
  command_result status;
  std::optional<T> value; ///< set when the command was accepted

  bool ok() const noexcept {
    return status.ok();
  }
};

/// The answer to a load: a working copy of the instance, or why there is none.
template <aggregate A>
struct load_result {
  command_result status; ///< ok (its version: the copy's base version), or why there is no copy
  std::optional<working_copy<A>> copy;

  bool ok() const noexcept {
    return copy.has_value();
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
  std::uint64_t reloads = 0;          ///< instances that read their stream again after a failed append
};

/// How a stop() went: complete when every request in flight was answered before config.stop_timeout.
struct stop_outcome {
  bool complete = true;
  std::string outstanding; ///< when not complete: what was still unanswered, for the operator
};

/// True when process manager P routes input event E to one of its instances (a static route(E, source_id)).
template <class P, class E>
concept routes_input = requires(const E& input, std::string_view source_id) { P::route(input, source_id); };

/// Ids of aggregate instances: 1 to 200 bytes, no NUL.
inline constexpr std::size_t max_aggregate_id_bytes = 200;

class runtime {
public:
  explicit runtime(runtime_config config);
  ~runtime();
  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  /// Makes an aggregate type known; call before start(). Registering a type again does nothing. Errors:
  /// invalid_argument when another registered type has the same type_name (their streams would mix).
  template <class A>
  command_result register_aggregate() {
    static_assert(check_aggregate<A>());
    if (types_.contains(std::type_index{typeid(A)}))
      return command_result{};
    if (auto taken = type_named(A::type_name))
      return command_result::failure(command_errc::invalid_argument,
                                     "aggregate type name \"" + std::string{A::type_name} +
                                       "\" is already taken by another registered type");
    auto type = std::make_unique<binding::typed_binding<A>>();
    attach(*type);
    types_.emplace(std::type_index{typeid(A)}, std::move(type));
    add_command_routes<A>(static_cast<typename A::command*>(nullptr));
    return command_result{};
  }

  /// Makes a process manager known (see process_manager.hpp), with the aggregate types it sends commands to.
  /// Its inputs are routed to it by a policy named "route:<type_name>"; its outbox commands are sent after each
  /// commit; instances with commands due are resumed at start. Call before start(), after registering `Targets`.
  template <process_manager P, aggregate... Targets>
  void register_process_manager() {
    register_aggregate<P>();
    type_of<P>()->send_outgoing = [this](const outgoing_command<typename P::outgoing>& out,
                                         const causation& cause, binding::result_callback done) {
      std::visit([&](const auto& cmd) { send_to_target<Targets...>(out.target_id, cmd, cause, std::move(done)); },
                 out.command);
    };
    if constexpr (std::tuple_size_v<typename P::inputs> > 0)
      add_input_route<P>(static_cast<typename P::inputs*>(nullptr));
  }

  /// Adds a policy: each committed event becomes zero or more idempotent commands (see subscription.hpp).
  command_result add_policy(std::string name, policy_handler handler);

  /// The codec of a registered type, to add upcasters before start().
  template <aggregate A>
  store::event_codec<typename A::event>& codec() {
    return type_of<A>()->codec;
  }

  /// Opens the store and starts the actors. Errors are the store's (not_a_database, locked, ...).
  store::status start();

  /// Graceful stop: stops admitting (new requests get shutting_down), answers every request in flight, writes
  /// what is queued, stops the actors, syncs and closes the store. Idempotent. A request still unanswered after
  /// config.stop_timeout (a lost answer) does not hold the stop: it goes on, writes what was outstanding to
  /// stderr and returns it.
  stop_outcome stop();

  bool running() const noexcept;

  /// Sends a command; `on_result` is called exactly once (on a CAF thread, or at once on this thread when the
  /// command is refused at the door: overloaded, shutting_down, invalid_argument).
  template <aggregate A, class Command>
  void send(std::string_view id, Command command, std::function<void(command_result)> on_result) {
    send<A>(id, std::move(command), std::nullopt, std::move(on_result));
  }

  /// Sends an idempotent command: sent again with the same causation, it takes effect once and gets the first
  /// answer again (see causation).
  template <aggregate A, class Command>
  void send(std::string_view id, Command command, std::optional<causation> cause,
            std::function<void(command_result)> on_result) {
    submit<A>(id, command_request<A>(std::move(command), std::move(cause), std::move(on_result)));
  }

  /// Sends a command with a typed reply: once it is accepted, `view` reads the state it left, on the instance's
  /// actor (keep it short; it gets a read-only view valid only during the call), and `on_reply` gets the result
  /// with that value. A refused command's reply has no value.
  ///   rt.send<order>("o-1", add_line{...}, [](const order& o) { return o.total(); },
  ///                  [](cairn::command_reply<money> r) { ... r.value ... });
  template <aggregate A, class Command, std::invocable<const A&> View>
  void send(std::string_view id, Command command, View view,
            std::function<void(command_reply<std::invoke_result_t<View, const A&>>)> on_reply) {
    using value_type = std::invoke_result_t<View, const A&>;
    auto value = std::make_shared<std::optional<value_type>>();
    auto request = command_request<A>(std::move(command), std::nullopt,
                                      [value, on_reply = std::move(on_reply)](command_result r) {
                                        on_reply(command_reply<value_type>{std::move(r), std::move(*value)});
                                      });
    request->on_accepted_state = [value, view = std::move(view)](const void* state) {
      *value = std::invoke(view, *static_cast<const A*>(state));
    };
    submit<A>(id, std::move(request));
  }

  /// Blocking form of send with a view: `auto r = rt.execute<order>("o-1", add_line{...}, &order::total);`.
  template <aggregate A, class Command, std::invocable<const A&> View>
  command_reply<std::invoke_result_t<View, const A&>> execute(std::string_view id, Command command, View view) {
    using reply_type = command_reply<std::invoke_result_t<View, const A&>>;
    return wait_for_answer<reply_type>(
      [&](auto done) { send<A>(id, std::move(command), std::move(view), std::move(done)); },
      [&] { return reply_type{command_result::failure(command_errc::timeout, no_answer_message<A>(id)), std::nullopt}; });
  }

  /// Sends a command to the registered type that takes it: `rt.send("o-1", add_line{...}, callback)`. When no
  /// registered type, or more than one, has `Command` among its commands, `on_result` gets invalid_argument at
  /// once (then name the type: send<A>).
  template <class Command>
    requires(!aggregate<Command>)
  void send(std::string_view id, Command command, std::function<void(command_result)> on_result) {
    send(id, std::move(command), std::nullopt, std::move(on_result));
  }

  /// Sends an idempotent command to the registered type that takes it (see the overload above and causation).
  template <class Command>
    requires(!aggregate<Command>)
  void send(std::string_view id, Command command, std::optional<causation> cause,
            std::function<void(command_result)> on_result) {
    std::string why;
    const auto* route = command_route_of(std::type_index{typeid(Command)}, why);
    if (route == nullptr) {
      on_result(command_result::failure(command_errc::invalid_argument, std::move(why)));
      return;
    }
    route->send(*this, id, &command, std::move(cause), std::move(on_result));
  }

  /// ask(id, command) to the registered type that takes the command (see send).
  template <class Command>
    requires(!aggregate<Command>)
  std::future<command_result> ask(std::string_view id, Command command) {
    auto promise = std::make_shared<std::promise<command_result>>();
    auto future = promise->get_future();
    send(id, std::move(command), [promise](command_result r) { promise->set_value(std::move(r)); });
    return future;
  }

  /// execute(id, command) to the registered type that takes the command (see send).
  template <class Command>
    requires(!aggregate<Command>)
  command_result execute(std::string_view id, Command command) {
    return wait_for_answer<command_result>(
      [&](auto done) { send(id, std::move(command), std::move(done)); },
      [&] { return command_result::failure(command_errc::timeout, no_answer_message("aggregate " + std::string{id})); });
  }

  /// Sends a command that expects the aggregate at `expected.version` (see expect_version.hpp): answered
  /// `conflict`, with nothing decided or written, when the aggregate is at another version when its turn comes.
  template <aggregate A, class Command>
  void send(std::string_view id, Command command, expect_version expected,
            std::function<void(command_result)> on_result) {
    auto request = command_request<A>(std::move(command), std::nullopt, std::move(on_result));
    request->expected_version = expected.version;
    submit<A>(id, std::move(request));
  }

  /// send() with a future for the answer; `option`: none, or an expect_version.
  template <aggregate A, class Command, class... Option>
    requires(sizeof...(Option) <= 1 && (std::same_as<Option, expect_version> && ...))
  std::future<command_result> ask(std::string_view id, Command command, Option... option) {
    auto promise = std::make_shared<std::promise<command_result>>();
    auto future = promise->get_future();
    send<A>(id, std::move(command), option..., [promise](command_result r) { promise->set_value(std::move(r)); });
    return future;
  }

  /// Blocks until the command is answered, at most command_timeout + stop_timeout (then `timeout`, with an
  /// unknown outcome). Not for the hot path. `option`: none, or an expect_version.
  template <aggregate A, class Command, class... Option>
    requires(sizeof...(Option) <= 1 && (std::same_as<Option, expect_version> && ...))
  command_result execute(std::string_view id, Command command, Option... option) {
    return wait_for_answer<command_result>(
      [&](auto done) { send<A>(id, std::move(command), option..., std::move(done)); },
      [&] { return command_result::failure(command_errc::timeout, no_answer_message<A>(id)); });
  }

  /// Reads the committed state of an instance (never a pending one); `f` runs on the instance's actor with a
  /// pointer valid only during the call (nullptr when there is no such aggregate).
  template <aggregate A>
  void query(std::string_view id, std::function<void(const aggregate_root<A>*, const command_result&)> f) {
    auto request = std::make_shared<binding::request>();
    request->on_query = [f = std::move(f)](const void* root, const command_result& status) {
      f(static_cast<const aggregate_root<A>*>(root), status);
    };
    submit<A>(id, std::move(request));
  }

  /// Blocking copy of the committed state.
  template <aggregate A>
  query_result<A> get(std::string_view id) {
    return wait_for_answer<query_result<A>>(
      [&](auto done) {
        query<A>(id, [done = std::move(done)](const aggregate_root<A>* root, const command_result& status) {
          query_result<A> r{status, std::nullopt};
          if (root != nullptr)
            r.root = *root;
          done(std::move(r));
        });
      },
      [&] {
        return query_result<A>{command_result::failure(command_errc::timeout, no_answer_message<A>(id)), std::nullopt};
      });
  }

  /// Loads a working copy of an instance (see working_copy.hpp): its committed state at its version, or, when the
  /// aggregate does not exist yet, an empty copy at version 0 on which a creating command can run. No copy:
  /// not_found for a discarded aggregate, and the errors of query(). `on_loaded` runs once, like query()'s `f`.
  template <aggregate A>
  void load(std::string_view id, std::function<void(load_result<A>)> on_loaded) {
    query<A>(id, [id = std::string{id}, on_loaded = std::move(on_loaded)](const aggregate_root<A>* root,
                                                                         const command_result& status) {
      load_result<A> r{status, std::nullopt};
      if (root != nullptr)
        r.copy.emplace(*root);
      else if (status.code == command_errc::not_found && status.version == 0) // never created: a fresh copy
        r = load_result<A>{command_result{}, working_copy<A>{id}};
      on_loaded(std::move(r));
    });
  }

  /// Blocking load(), at most command_timeout + stop_timeout (then `timeout`).
  template <aggregate A>
  load_result<A> load(std::string_view id) {
    return wait_for_answer<load_result<A>>(
      [&](auto done) { load<A>(id, std::move(done)); },
      [&] {
        return load_result<A>{command_result::failure(command_errc::timeout, no_answer_message<A>(id)), std::nullopt};
      });
  }

  /// Commits every pending event of `copy` as one atomic append, through the instance and the committer like a
  /// command's events (the instance's state follows; subscribers get them like any others), expecting the stream
  /// at copy.base_version(): `conflict` when it moved since the load, and nothing is written. Accepted: the copy's
  /// base version advances to its version and pending() empties; refused: the copy is unchanged (load again, run
  /// the commands again, save again). Nothing pending: accepted at once, nothing sent. Blocks at most
  /// command_timeout + stop_timeout (then `timeout`, outcome unknown, the copy unchanged).
  template <aggregate A>
  command_result save(working_copy<A>& copy) {
    auto r = wait_for_answer<command_result>(
      [&](auto done) { submit_save(copy, std::move(done)); },
      [&] { return command_result::failure(command_errc::timeout, no_answer_message<A>(copy.id())); });
    if (r.ok())
      copy.mark_saved();
    return r;
  }

  /// Asynchronous save(): the copy travels with the request and comes back to `on_saved` (saved, or unchanged),
  /// which runs once, like send()'s callback.
  template <aggregate A>
  void save(working_copy<A> copy,
            std::type_identity_t<std::function<void(command_result, working_copy<A>)>> on_saved) {
    auto held = std::make_shared<working_copy<A>>(std::move(copy));
    submit_save(*held, [held, on_saved = std::move(on_saved)](command_result r) {
      if (r.ok())
        held->mark_saved();
      on_saved(std::move(r), std::move(*held));
    });
  }

  /// Adds a projection kept in cairn's store: exactly once in effect (see subscription.hpp). Its name is its
  /// tracking key and the prefix of its keys ("<name>/<key>"). Before or after start(); a projection added to a
  /// running runtime catches up from the log, then goes live. Errors: invalid_argument (empty or taken name).
  command_result add_projection(std::string name, projection_handler handler);

  /// Adds a subscriber whose effects are elsewhere: at least once, the event's position is its idempotency key.
  command_result add_subscriber(std::string name, subscriber_handler handler);

  /// Typed projection over the events of aggregate types `A, More...` (see typed_events.hpp): `handlers` has one
  /// call operator per event type it cares about, `(const E&, const event_meta&, projection_writer&)` or
  /// `(const E&, projection_writer&)`, e.g. a cairn::handlers of lambdas. Events reach it decoded with each type's
  /// registered codec (upcast); other events are skipped. An event that cannot be decoded fails the chunk, which
  /// is handled again later (never skipped). Register the aggregate types and their upcasters first.
  template <aggregate A, aggregate... More, class Handlers>
  command_result add_projection(std::string name, Handlers handlers) {
    static_assert(typed_events<A, More...>::template handles_any<Handlers, projection_writer>,
                  "no handler takes an event of these aggregate types as (const E&, [const event_meta&,] "
                  "projection_writer&)");
    return add_projection(std::move(name), [events = typed_events_of<A, More...>(), h = std::move(handlers)](
                                             const store::stored_event& e, projection_writer& w) mutable {
      dispatch_or_throw(events, e, h, w);
    });
  }

  /// Typed subscriber (at least once): handlers `(const E&, const event_meta&)` or `(const E&)`; as the typed
  /// add_projection otherwise.
  template <aggregate A, aggregate... More, class Handlers>
  command_result add_subscriber(std::string name, Handlers handlers) {
    static_assert(typed_events<A, More...>::template handles_any<Handlers>,
                  "no handler takes an event of these aggregate types as (const E&[, const event_meta&])");
    return add_subscriber(std::move(name), [events = typed_events_of<A, More...>(),
                                            h = std::move(handlers)](const store::stored_event& e) mutable {
      dispatch_or_throw(events, e, h);
    });
  }

  /// Typed policy: handlers `(const E&, const event_meta&, policy_actions&)` or `(const E&, policy_actions&)`;
  /// as the typed add_projection otherwise.
  template <aggregate A, aggregate... More, class Handlers>
  command_result add_policy(std::string name, Handlers handlers) {
    static_assert(typed_events<A, More...>::template handles_any<Handlers, policy_actions>,
                  "no handler takes an event of these aggregate types as (const E&, [const event_meta&,] "
                  "policy_actions&)");
    return add_policy(std::move(name), [events = typed_events_of<A, More...>(), h = std::move(handlers)](
                                         const store::stored_event& e, policy_actions& out) mutable {
      dispatch_or_throw(events, e, h, out);
    });
  }

  /// Every subscription's position, lag and state.
  std::vector<subscription_status> subscriptions() const;

  /// True from start() until stop() has stopped the actors (running() ends earlier, when stop() stops admitting).
  bool started() const noexcept;

  /// The CAF actor system. Precondition: started().
  caf::actor_system& system();
  store::event_store& store();

  /// Whether the store takes writes (store::event_store::check_health()): after a failed write or background
  /// job, commands answer storage_failure until the store has recovered; this call also tries to recover, so a
  /// health endpoint polled while no command arrives brings the store back once the disk takes writes again.
  /// Not writable before start() and after stop().
  store::store_health storage_health();
  const runtime_config& config() const noexcept;
  runtime_stats stats() const;

  /// Deterministic mode only (config.drive_until_idle set): runs the queued activations and one committer pass on
  /// the calling thread; returns the work done. cairn::testing::run_until_idle alternates it with the actors.
  std::size_t run_queued_work();

  /// A cluster node: the ids of the peers it is connected to now (empty for a single node).
  std::vector<std::string> connected_peers() const;

  /// Sends `actor` an exit when the runtime stops, before the actor system waits for its actors (the CAF-native
  /// gateways of gateway.hpp use it). Precondition: started().
  void stop_with(const caf::actor& actor);

private:
  struct impl;

  template <aggregate A>
  binding::typed_binding<A>* type_of() {
    auto i = types_.find(std::type_index{typeid(A)});
    return i == types_.end() ? nullptr : static_cast<binding::typed_binding<A>*>(i->second.get());
  }

  /// Gives a newly registered type its record in the runtime (its directory, from start() on).
  void attach(binding::type_binding& type);

  /// The registered type named `type_name`, if any.
  const binding::type_binding* type_named(std::string_view type_name) const;

  /// How long the blocking helpers wait for an answer: command_timeout + stop_timeout.
  std::chrono::milliseconds answer_wait() const noexcept;

  /// The blocking helpers' wait: `start(done)` sends a request whose answer comes to `done`; waits for it at most
  /// answer_wait(), else returns `timed_out()` (the outcome unknown). The promise is shared with `done`: an answer
  /// that comes after this gave up must still find it.
  template <class T, class Start, class TimedOut>
  T wait_for_answer(Start start, TimedOut timed_out) {
    auto promise = std::make_shared<std::promise<T>>();
    auto answer = promise->get_future();
    start([promise](T r) { promise->set_value(std::move(r)); });
    if (answer.wait_for(answer_wait()) == std::future_status::ready)
      return answer.get();
    return timed_out();
  }

  template <aggregate A>
  std::string no_answer_message(std::string_view id) const {
    return no_answer_message(std::string{A::type_name} + " " + std::string{id});
  }

  std::string no_answer_message(std::string_view instance) const {
    return "no answer from " + std::string{instance} + " within " + std::to_string(answer_wait().count()) +
           " ms: its outcome is unknown";
  }

  /// How a command type reaches the one registered type that takes it (send without a type).
  struct command_route {
    std::string_view type_name;
    void (*send)(runtime& rt, std::string_view id, void* command, std::optional<causation>&& cause,
                 std::function<void(command_result)>&& on_result);
  };

  template <aggregate A, class... Commands>
  void add_command_routes(std::variant<Commands...>*) {
    (command_routes_[std::type_index{typeid(Commands)}].push_back(
       command_route{A::type_name,
                     [](runtime& rt, std::string_view id, void* command, std::optional<causation>&& cause,
                        std::function<void(command_result)>&& on_result) {
                       rt.send<A>(id, std::move(*static_cast<Commands*>(command)), std::move(cause),
                                  std::move(on_result));
                     }}),
     ...);
  }

  /// The route of a command type, or nullptr and why there is none (no registered type takes it, or several do).
  const command_route* command_route_of(std::type_index command, std::string& why) const;

  /// What stop() still waits for: requests in flight, instances, queued appends.
  std::string outstanding() const;

  /// The housekeeping thread: advances the directories' clocks and passivates idle instances.
  void housekeep();

  /// Sends `cmd` to the first of `Targets` whose commands include its type.
  template <aggregate Target, aggregate... Rest, class Command>
  void send_to_target(const std::string& id, const Command& cmd, const causation& cause,
                      binding::result_callback done) {
    if constexpr (binding::variant_holds<typename Target::command, Command>)
      send<Target>(id, cmd, cause, std::move(done));
    else if constexpr (sizeof...(Rest) > 0)
      send_to_target<Rest...>(id, cmd, cause, std::move(done));
    else
      static_assert(sizeof...(Rest) > 0, "no registered target aggregate takes this outgoing command");
  }

  /// The input policy of process manager P, "route:<type_name>": a typed policy over its input aggregates that
  /// sends P the command its static route() makes of an input event, idempotently (the event's position).
  template <process_manager P, aggregate... Inputs>
  void add_input_route(std::tuple<Inputs...>*) {
    add_policy<Inputs...>("route:" + std::string{P::type_name},
                          [this]<class E>(const E& input, const event_meta& meta, policy_actions& out)
                            requires routes_input<P, E>
                          {
                            auto routed = P::route(input, meta.aggregate_id);
                            if (!routed)
                              return;
                            causation cause{"route:" + std::string{P::type_name}, meta.position};
                            // A named pointer, not `this`: clang takes a `this` used only in an instantiation
                            // for unused while it checks the handler's signature.
                            out.add([rt = this, routed = std::move(*routed), cause](auto done) {
                              rt->send<P>(routed.id, routed.command, cause, [done](command_result r) { done(r); });
                            });
                          });
  }

  /// The codec of an input type: the registered one, with its upcasters, so that an input stored with an older
  /// schema decodes as the input's own instances read it. An input type that is not registered has no upcasters.
  template <aggregate A>
  const store::event_codec<typename A::event>& input_codec() {
    if (auto* t = type_of<A>())
      return t->codec;
    static const store::event_codec<typename A::event> unregistered;
    return unregistered;
  }

  /// The typed events of `As...`, decoded with their registered codecs (or codecs without upcasters).
  template <aggregate... As>
  typed_events<As...> typed_events_of() {
    return typed_events<As...>{input_codec<As>()...};
  }

  template <class Events, class Handlers, class... Extra>
  static void dispatch_or_throw(Events& events, const store::stored_event& e, Handlers& h, Extra&... extra) {
    if (auto st = events.dispatch(e, h, extra...); !st)
      throw std::runtime_error{st.error().to_string()}; // caught by the subscription: retried, not skipped
  }

  /// A command's request, due within the command timeout.
  template <aggregate A, class Command>
  std::shared_ptr<binding::typed_request<A>> command_request(Command&& command, std::optional<causation> cause,
                                                             binding::result_callback on_result) const {
    auto request = std::make_shared<binding::typed_request<A>>();
    request->command = typename A::command{std::forward<Command>(command)};
    request->on_result = std::move(on_result);
    request->deadline = command_deadline();
    request->cause = std::move(cause);
    return request;
  }

  /// now + command_timeout.
  std::chrono::steady_clock::time_point command_deadline() const noexcept;

  /// Admits a command, save or query and routes it to its instance, or answers the refusal at once.
  template <aggregate A>
  void submit(std::string_view id, binding::request_ptr request) {
    auto* type = type_of<A>();
    if (type == nullptr)
      return refuse(*request, command_result::failure(command_errc::invalid_argument,
                                                      "aggregate type " + std::string{A::type_name} +
                                                        " is not registered"));
    submit(*type, id, std::move(request));
  }

  /// Admission at the door (id, running, in flight), then the instance's actor.
  void submit(binding::type_binding& type, std::string_view id, binding::request_ptr request);

  /// Runs a command another node forwarded to this one (cluster_link).
  void serve_forwarded(detail::forwarded_command in, binding::result_callback done);

  /// Answers a request refused at the door, on the calling thread.
  static void refuse(const binding::request& request, command_result why);

  /// Sends the save of `copy`'s pending events (answered at once when there are none).
  template <aggregate A>
  void submit_save(const working_copy<A>& copy, binding::result_callback on_result) {
    if (copy.pending().empty()) {
      command_result nothing;
      nothing.version = copy.version();
      return on_result(std::move(nothing));
    }
    auto request = command_request<A>(typename A::command{}, std::nullopt, std::move(on_result));
    request->expected_version = copy.base_version();
    request->events = std::make_shared<const std::vector<typename A::event>>(copy.pending());
    submit<A>(copy.id(), std::move(request));
  }

  std::unique_ptr<impl> impl_;
  std::unordered_map<std::type_index, std::unique_ptr<binding::type_binding>> types_;
  /// Per command type, the registered types that take it.
  std::unordered_map<std::type_index, std::vector<command_route>> command_routes_;
};

} // namespace cairn
