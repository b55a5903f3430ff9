// How the runtime drives a registered aggregate type without knowing it: the typed half of register_aggregate.
//
// The runtime's actors, directory and committer are compiled once, in the runtime library, for every aggregate
// type; what depends on the type (decide, apply, encode, replay, the outbox of a process manager) is reached
// through the two interfaces below, implemented for each registered type by typed_binding<A> and typed_instance<A>
// when a program registers it. Users do not call them: runtime.hpp does.
//
//   auto binding = std::make_unique<cairn::binding::typed_binding<order>>();
//   auto loaded = binding->load(store, "o-1");              // snapshot, then replay (on the activation pool)
//   loaded->state->stage(request);                          // decide a command; its events are kept staged
//
// Thread-safety: a type_binding is read-only once the runtime started (its codec is used from the activation pool
// and every actor); an instance belongs to one actor at a time.
#pragma once

#include <cairn/aggregate.hpp>
#include <cairn/process_manager.hpp>
#include <cairn/runtime/command_result.hpp>
#include <cairn/store/codec.hpp>
#include <cairn/store/event_codec.hpp>
#include <cairn/store/event_store.hpp>
#include <cairn/stream_name.hpp>

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace cairn::detail {
struct type_slot; // the runtime's own record of a registered type (runtime library)
} // namespace cairn::detail

namespace cairn::binding {

/// True when the std::variant `V` has `T` among its alternatives.
template <class V, class T>
inline constexpr bool variant_holds = false;
template <class... Ts, class T>
inline constexpr bool variant_holds<std::variant<Ts...>, T> = (std::is_same_v<Ts, T> || ...);

/// A request's expected_version when it expects none.
inline constexpr std::uint64_t any_version = ~std::uint64_t{0};

/// Receives the answer to a command; runs on the aggregate's actor thread, so it must be quick.
using result_callback = std::function<void(command_result)>;

/// A command, a save or a query for one instance, as the directory hands it to the instance's actor.
struct request {
  virtual ~request() = default;

  result_callback on_result;
  /// Set for a query: called with the committed aggregate_root<A> (nullptr when it does not exist) and the status.
  std::function<void(const void* root, const command_result&)> on_query;
  /// Set for a command with a typed reply: called with the A the accepted command left, just before on_result.
  std::function<void(const void* state)> on_accepted_state;
  std::chrono::steady_clock::time_point deadline;
  /// Set for an idempotent command (policies, process managers).
  std::optional<causation> cause;
  /// A command the instance sent itself (a process manager recording a result): not admitted, not counted.
  bool internal = false;
  /// Internal: the outbox step whose answer it records (0: none).
  std::uint64_t outbox_step = 0;
  /// The version the instance must be at for the request to run, else `conflict`.
  std::uint64_t expected_version = any_version;
};

using request_ptr = std::shared_ptr<request>;

/// The typed part of a request: the command, or the events of a working copy's save.
template <aggregate A>
struct typed_request final : request {
  typename A::command command;
  /// Set for the save of a working copy: the events decided on the copy, committed as one append.
  std::shared_ptr<const std::vector<typename A::event>> events;
  /// The events the command decided, from the decision to the commit: kept with the request in hand, so that an
  /// idle instance holds none.
  std::vector<typename A::event> staged;
};

/// What deciding a request gave.
enum class decided : std::uint8_t {
  events,   ///< events are staged: commit them
  nothing,  ///< accepted without events
  rejected, ///< refused by the aggregate (the message says why)
};

/// A command a process manager's state says is due, ready to send.
struct outbox_item {
  std::uint64_t step = 0;
  std::function<void(const causation&, result_callback)> send;
};

class type_binding;

/// One instance's committed state, as its actor keeps it. The calls that encode or send take the instance's
/// type_binding, so that an instance does not keep a pointer to it.
class instance {
public:
  virtual ~instance() = default;

  virtual const std::string& id() const noexcept = 0;
  virtual std::uint64_t version() const noexcept = 0;
  virtual bool exists() const = 0;
  virtual std::unique_ptr<instance> clone() const = 0;

  /// Calls the request's query callback with the state (when `with_state`) or nullptr.
  virtual void answer_query(const request& r, const command_result& status, bool with_state) const = 0;
  /// Calls the request's on_accepted_state with the state, if it has one.
  virtual void show_accepted(const request& r) const = 0;
  /// Whether the request's command is one that may create the aggregate.
  virtual bool creates(const request& r) const = 0;
  /// Decides the request's command against the state; its events are staged in the request, the state unchanged.
  /// May throw (the aggregate's handler): the caller answers it.
  virtual decided decide(request& r, std::string& rejection) const = 0;
  /// Whether the request is a working copy's save (its events were decided on the copy).
  virtual bool is_save(const request& r) const = 0;
  /// Encodes the request's events (staged, or a save's) into `append` with `now_us` and applies them to the
  /// state. May throw (the aggregate's apply): the caller reloads.
  virtual void commit(request& r, const type_binding& type, store::append_request& append, std::int64_t now_us) = 0;
  /// A snapshot of the state, when the type takes snapshots.
  virtual std::optional<store::snapshot_record> snapshot() const = 0;
  /// Process managers: the commands due after step `after` (every one when `all`), sent through `type`.
  virtual std::vector<outbox_item> outbox(const type_binding& type, std::uint64_t after, bool all) const = 0;
};

/// What an activation read from the store: the state as committed, or why it could not be read.
struct loaded {
  std::unique_ptr<instance> state;
  std::uint64_t snapshot_version = 0;
  std::string error; ///< empty on success
};

/// A registered aggregate type, as the runtime's actors see it.
class type_binding {
public:
  virtual ~type_binding() = default;

  virtual std::string_view name() const noexcept = 0;
  virtual bool is_process_manager() const noexcept = 0;
  /// The state of an instance not read yet (or never created): version 0.
  virtual std::unique_ptr<instance> empty(const std::string& id) const = 0;
  /// Reads an instance's committed state: latest snapshot, then the events after it in chunks.
  virtual std::shared_ptr<loaded> load(store::event_store& store, const std::string& id) const = 0;
  /// Process managers: the internal request that records the answer to an outbox step.
  virtual request_ptr result_request(std::uint64_t step, const command_result& answer) const = 0;
  /// A command request's command in cairn's binary encoding (to forward it to the node that owns the aggregate).
  virtual std::string encode_command(const request& r) const = 0;
  /// A command request made of encode_command()'s bytes; nullptr when they do not decode.
  virtual std::shared_ptr<request> decode_command(std::string_view bytes) const = 0;

  std::string stream_name(std::string_view id) const {
    return cairn::stream_name(name(), id);
  }

  /// The runtime's record of the type, set when registered.
  detail::type_slot* slot = nullptr;
};

/// Replay reads a stream in chunks of this many events, so activation memory stays bounded.
inline constexpr std::size_t replay_chunk = 1024;

template <aggregate A>
class typed_binding;

template <aggregate A>
class typed_instance final : public instance {
public:
  explicit typed_instance(aggregate_root<A> root) : root_(std::move(root)) {}

  aggregate_root<A>& root() noexcept {
    return root_;
  }

  const std::string& id() const noexcept override {
    return root_.id();
  }

  std::uint64_t version() const noexcept override {
    return root_.version();
  }

  bool exists() const override {
    return root_.exists();
  }

  std::unique_ptr<instance> clone() const override {
    return std::make_unique<typed_instance>(root_);
  }

  void answer_query(const request& r, const command_result& status, bool with_state) const override {
    r.on_query(with_state ? &root_ : nullptr, status);
  }

  void show_accepted(const request& r) const override {
    if (r.on_accepted_state)
      r.on_accepted_state(&root_.state());
  }

  bool creates(const request& r) const override {
    return std::visit([](const auto& c) { return creates_aggregate_v<std::decay_t<decltype(c)>>; },
                      typed(r).command);
  }

  decided decide(request& r, std::string& rejection) const override {
    auto& req = typed(r);
    auto verdict = root_.decide(req.command);
    if (!verdict) {
      rejection = verdict.error().message;
      return decided::rejected;
    }
    req.staged = std::move(verdict).events();
    return req.staged.empty() ? decided::nothing : decided::events;
  }

  bool is_save(const request& r) const override {
    return typed(r).events != nullptr;
  }

  void commit(request& r, const type_binding& type, store::append_request& append, std::int64_t now_us) override {
    auto& req = typed(r);
    const auto& events = req.events ? *req.events : req.staged;
    const auto& codec = static_cast<const typed_binding<A>&>(type).codec;
    append.events.reserve(events.size());
    for (const auto& e : events)
      append.events.push_back(codec.encode(e, now_us));
    root_.apply(events, std::chrono::sys_time<std::chrono::microseconds>{std::chrono::microseconds{now_us}});
  }

  std::optional<store::snapshot_record> snapshot() const override {
    if constexpr (snapshottable<A>)
      return store::snapshot_record{root_.version(), A::snapshot_version, store::encode(root_.state())};
    else
      return std::nullopt;
  }

  std::vector<outbox_item> outbox(const type_binding& type, std::uint64_t after, bool all) const override {
    std::vector<outbox_item> items;
    if constexpr (process_manager<A>) {
      auto due = [&] {
        if constexpr (incremental_outbox<A>)
          return all ? root_.state().outbox() : root_.state().outbox_after(after);
        else
          return root_.state().outbox();
      }();
      items.reserve(due.size());
      const auto* sender = &static_cast<const typed_binding<A>&>(type);
      for (auto& out : due) {
        if (!all && out.step <= after)
          continue;
        auto step = out.step;
        items.push_back(outbox_item{step, [sender, out = std::move(out)](const causation& cause, result_callback done) {
                                      sender->send_outgoing(out, cause, std::move(done));
                                    }});
      }
    } else {
      (void) type;
      (void) after;
      (void) all;
    }
    return items;
  }

private:
  static const typed_request<A>& typed(const request& r) {
    return static_cast<const typed_request<A>&>(r);
  }
  static typed_request<A>& typed(request& r) {
    return static_cast<typed_request<A>&>(r);
  }

  aggregate_root<A> root_;
};

/// The outbox entry type of a process manager (unused for other aggregates).
template <class A>
struct outgoing_of_t {
  using type = void*;
};
template <process_manager P>
struct outgoing_of_t<P> {
  using type = outgoing_command<typename P::outgoing>;
};

template <aggregate A>
class typed_binding final : public type_binding {
public:
  using outgoing = typename outgoing_of_t<A>::type;

  std::string_view name() const noexcept override {
    return A::type_name;
  }

  bool is_process_manager() const noexcept override {
    return process_manager<A>;
  }

  std::unique_ptr<instance> empty(const std::string& id) const override {
    return std::make_unique<typed_instance<A>>(aggregate_root<A>{id});
  }

  std::shared_ptr<loaded> load(store::event_store& store, const std::string& id) const override {
    auto out = std::make_shared<loaded>();
    auto state = std::make_unique<typed_instance<A>>(aggregate_root<A>{id});
    auto& root = state->root();
    auto stream = stream_name(id);
    if constexpr (snapshottable<A>) {
      auto snap = store.latest_snapshot(stream);
      if (!snap) {
        out->error = snap.error().to_string();
        return out;
      }
      // A snapshot of another schema version (or one that no longer decodes) is only an optimisation lost: the
      // full replay below rebuilds the same state.
      if (*snap && (*snap)->schema_version == A::snapshot_version) {
        A restored;
        if (store::decode((*snap)->payload, restored)) {
          root.restore(std::move(restored), (*snap)->version);
          out->snapshot_version = (*snap)->version;
        }
      }
    }
    for (;;) {
      auto chunk = store.read_stream(stream, root.version() + 1, replay_chunk);
      if (!chunk) {
        out->error = chunk.error().to_string();
        return out;
      }
      if (chunk->empty())
        break;
      for (const auto& stored : *chunk) {
        auto events = codec.decode(stored);
        if (!events) {
          out->error = events.error().to_string();
          return out;
        }
        auto meta = root.next_meta(std::chrono::sys_time<std::chrono::microseconds>{
          std::chrono::microseconds{stored.event.timestamp_us}});
        meta.version = stored.version; // an upcast event shares its stored event's version
        try {
          for (const auto& e : *events)
            root.apply(e, meta);
        } catch (const std::exception& e) {
          out->error = "apply of " + std::string{A::type_name} + " " + id + " threw on replay: " + e.what();
          return out;
        }
        // An upcaster may turn one stored event into several (or none): the version counts stored events.
        root.align_version(stored.version);
      }
    }
    out->state = std::move(state);
    return out;
  }

  request_ptr result_request(std::uint64_t step, const command_result& answer) const override {
    if constexpr (process_manager<A>) {
      auto r = std::make_shared<typed_request<A>>();
      r->command = A::result_command(step, answer.ok(), answer.message);
      r->deadline = std::chrono::steady_clock::time_point::max();
      r->internal = true;
      r->outbox_step = step;
      return r;
    } else {
      (void) step;
      (void) answer;
      return nullptr;
    }
  }

  std::string encode_command(const request& r) const override {
    return store::encode(static_cast<const typed_request<A>&>(r).command);
  }

  std::shared_ptr<request> decode_command(std::string_view bytes) const override {
    auto r = std::make_shared<typed_request<A>>();
    if (!store::decode(bytes, r->command))
      return nullptr;
    return r;
  }

  store::event_codec<typename A::event> codec;
  /// Process managers: sends one outbox command to its target, idempotently.
  std::function<void(const outgoing&, const causation&, result_callback)> send_outgoing;
};

} // namespace cairn::binding
