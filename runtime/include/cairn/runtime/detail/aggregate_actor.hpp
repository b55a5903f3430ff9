// The actor of one aggregate instance.
//
// It activates by reading its stream (latest snapshot, then the events after it, in chunks) on the activation
// pool, then takes its requests strictly one at a time: decide the command against the committed state, hand the
// events to the committer, and take nothing else until the committer answers. Requests that arrive meanwhile wait
// in the actor's own backlog (in arrival order), so nobody sees a pending state. A failed append makes the actor
// reload its state from the store before it takes the next request. The save of a working copy
// (working_copy.hpp) takes its turn like a command: its events were decided on the copy, at the version the request
// expects, and go to the committer as they are.
#pragma once

#include <cairn/aggregate.hpp>
#include <cairn/process_manager.hpp>
#include <cairn/runtime/command_result.hpp>
#include <cairn/runtime/detail/directory.hpp>
#include <cairn/runtime/detail/messages.hpp>
#include <cairn/runtime/detail/runtime_core.hpp>
#include <cairn/store/codec.hpp>
#include <cairn/store/event_codec.hpp>

#include <caf/actor_cast.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/message_view.hpp>
#include <caf/send.hpp>
#include <caf/type_erased_tuple.hpp>

#include <algorithm>
#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <map>
#include <string>
#include <vector>

namespace cairn::detail {

/// Replay reads a stream in chunks of this many events, so activation memory stays bounded.
inline constexpr std::size_t replay_chunk = 1024;

/// The outbox entry type of a process manager (void for other aggregates).
template <class A>
struct outgoing_of_t {
  using type = void*;
};
template <process_manager P>
struct outgoing_of_t<P> {
  using type = outgoing_command<typename P::outgoing>;
};
template <class A>
using outgoing_of = typename outgoing_of_t<A>::type;

/// Key of the marker that a process instance has commands due: kept in the same batch as its events, in the
/// store's runtime key space (store::runtime_put, apart from every projection's keys), scanned at start so that a
/// process interrupted by a crash is resumed without waiting for a new input. The store's upgrade from format 1
/// moves the markers of that format here under the same prefix.
inline constexpr std::string_view open_process_prefix = "open-process/";

/// Everything the runtime keeps for one registered aggregate type.
template <aggregate A>
struct aggregate_type {
  explicit aggregate_type(runtime_core& c) : core(c) {}

  std::string stream_name(std::string_view id) const {
    return cairn::stream_name<A>(id);
  }

  runtime_core& core;
  store::event_codec<typename A::event> codec;
  std::unique_ptr<directory> instances;
  /// Process managers only: sends one outbox command to its target, idempotently.
  std::function<void(const outgoing_of<A>&, const causation&, result_callback)> send_outgoing;
};

/// Reads an instance's committed state: snapshot, then replay. Runs on the activation pool.
template <aggregate A>
load_outcome_ptr<A> load_instance(const aggregate_type<A>& type, const std::string& id) {
  auto out = std::make_shared<load_outcome<A>>(load_outcome<A>{aggregate_root<A>{id}, 0, {}});
  auto& store = *type.core.store;
  auto stream = type.stream_name(id);
  if constexpr (snapshottable<A>) {
    auto snap = store.latest_snapshot(stream);
    if (!snap) {
      out->error = snap.error().to_string();
      return out;
    }
    // A snapshot of another schema version (or one that no longer decodes) is only an optimisation lost: the
    // full replay below rebuilds the same state.
    if (*snap && (*snap)->schema_version == A::snapshot_version) {
      A state;
      if (store::decode((*snap)->payload, state)) {
        out->root.restore(std::move(state), (*snap)->version);
        out->snapshot_version = (*snap)->version;
      }
    }
  }
  for (;;) {
    auto chunk = store.read_stream(stream, out->root.version() + 1, replay_chunk);
    if (!chunk) {
      out->error = chunk.error().to_string();
      return out;
    }
    if (chunk->empty())
      return out;
    for (const auto& stored : *chunk) {
      auto events = type.codec.decode(stored);
      if (!events) {
        out->error = events.error().to_string();
        return out;
      }
      auto meta = out->root.next_meta(std::chrono::sys_time<std::chrono::microseconds>{
        std::chrono::microseconds{stored.event.timestamp_us}});
      meta.version = stored.version; // an upcast event shares its stored event's version
      for (const auto& e : *events)
        out->root.apply(e, meta);
      // An upcaster may turn one stored event into several (or none): the version counts stored events.
      out->root.align_version(stored.version);
    }
  }
}

template <aggregate A>
class aggregate_actor final : public caf::event_based_actor {
public:
  aggregate_actor(caf::actor_config& cfg, aggregate_type<A>& type, const std::string& id, directory_entry* entry)
    : caf::event_based_actor(cfg), type_(type), root_(id), entry_(entry) {
  }

  caf::behavior make_behavior() override {
    start_loading();
    // Only the hot path is a case of the behavior: every case costs each instance a match case and its entry in
    // the behavior's table. The instance's other messages go through the default handler, a function without
    // captures that CAF keeps in the actor anyway (docs/runtime.md, "Memory per instance"). A message it does
    // not know is dropped, as before.
    set_default_handler([](caf::scheduled_actor* self, caf::message_view& msg) -> caf::result<caf::message> {
      static_cast<aggregate_actor*>(self)->on_signal(msg.content());
      return caf::message{};
    });
    return {
      [this](request_envelope<A>& request) { on_request(request); },
    };
  }

private:
  enum class phase : std::uint8_t { loading, ready, committing };

  /// What the instance keeps of the command in hand, from its start to its answer: idle instances hold none.
  struct command_in_hand {
    result_callback reply;
    std::function<void(const A&)> on_accepted_state; ///< a typed reply's view, run before `reply`
    bool internal = false; ///< a process manager's own record of a result: nobody waits for its answer
    std::optional<causation> cause;
    std::optional<command_result> recorded_rejection; ///< an idempotent command's rejection, being stored
    /// An idempotent command's state before its events were applied in anticipation: if the store finds the
    /// command a repeat, nothing was written and the state goes back to this, without reading the stream again.
    std::unique_ptr<aggregate_root<A>> before;
  };

  /// Process managers keep the commands their state says are due, by step, and which are on their way; other
  /// aggregates keep nothing for it.
  struct no_outbox {};
  struct outbox_entry {
    outgoing_of<A> command;
    bool sent = false;
  };
  struct outbox_mirror {
    std::map<std::uint64_t, outbox_entry> due;
    std::uint64_t last_step = 0;   ///< the highest step listed so far (steps only grow)
    std::uint64_t unsent_from = 0; ///< the first step a commit in progress added (sent once it is stored)
    std::size_t on_its_way = 0;    ///< entries sent and not answered
    bool resend_scheduled = false; ///< one resend covers every step refused for a transient reason meanwhile

    /// Forgets a step (its answer is being recorded).
    void erase(std::uint64_t step) {
      if (auto it = due.find(step); it != due.end()) {
        on_its_way -= it->second.sent ? 1 : 0;
        due.erase(it);
      }
    }
  };
  using outbox_steps = std::conditional_t<process_manager<A>, outbox_mirror, no_outbox>;

  /// Requests that arrived while another was in hand, in arrival order; allocated only while some wait.
  struct backlog {
    std::vector<request_envelope<A>> requests;
    std::size_t next = 0; ///< the first one not yet taken
  };

  void on_request(request_envelope<A>& request) {
    directory::taken(entry_);
    if (phase_ == phase::ready && !waiting()) {
      // The common case: nothing waits, so the request is taken at once without a trip through the backlog.
      take(request);
      settle();
    } else {
      wait_in_line(std::move(request));
      drain();
    }
  }

  bool waiting() const noexcept {
    return backlog_ && backlog_->next < backlog_->requests.size();
  }

  void wait_in_line(request_envelope<A>&& request) {
    if (!backlog_)
      backlog_ = std::make_unique<backlog>();
    backlog_->requests.push_back(std::move(request));
  }

  /// Everything but requests: activation, commit and outbox answers, resends, passivation requests.
  void on_signal(caf::type_erased_tuple& msg) {
    if (msg.match_elements<committed_atom, command_result>()) {
      on_committed(std::move(msg.get_mutable_as<command_result>(1)));
    } else if (msg.match_elements<duplicate_atom, command_result>()) {
      on_duplicate(std::move(msg.get_mutable_as<command_result>(1)));
    } else if (msg.match_elements<loaded_atom, load_outcome_ptr<A>>()) {
      auto outcome = msg.get_mutable_as<load_outcome_ptr<A>>(1);
      on_loaded(*outcome);
    } else if (msg.match_elements<outbox_atom, std::uint64_t, command_result>()) {
      on_outbox_answer(msg.get_as<std::uint64_t>(1), msg.get_as<command_result>(2));
    } else if (msg.match_elements<resend_atom>()) {
      on_resend();
    } else if (msg.match_elements<passivate_atom>()) {
      // Idle too long, or asked to make room: stop as soon as idle (now, or once the requests in hand are
      // answered). The directory decides when; a CAF receive timeout per instance would cost a clock entry per
      // actor and a locked clock update per message.
      passivation_requested_ = true;
      try_passivate();
    }
  }

  /// After a failed append: the state may be ahead of the store, so it is read back (counted in the stats).
  void reload() {
    type_.core.reloads.fetch_add(1, std::memory_order_relaxed);
    start_loading();
  }

  void start_loading() {
    phase_ = phase::loading;
    auto self = caf::actor_cast<caf::actor>(this);
    type_.core.loader->post([&type = type_, self, id = root_.id()] {
      caf::anon_send(self, loaded_atom::value, load_instance<A>(type, id));
    });
  }

  void on_loaded(load_outcome<A>& outcome) {
    if (outcome.error.empty()) {
      load_error_.reset();
      root_ = std::move(outcome.root);
      last_snapshot_version_ = outcome.snapshot_version;
    } else {
      load_error_ = std::make_unique<std::string>(std::move(outcome.error));
    }
    phase_ = phase::ready;
    if (!load_error_) {
      mirror_outbox();
      send_outbox_from(0);
    }
    drain();
    if (load_error_)
      try_passivate(); // the next request activates a fresh instance that reads the store again
  }

  void on_committed(command_result result) {
    phase_ = phase::ready;
    if (result.ok() && command_ && command_->recorded_rejection) {
      // The rejection of an idempotent command is stored (so that a redelivery gets it again); nothing else was.
      answer(*std::exchange(command_->recorded_rejection, std::nullopt));
    } else if (result.ok()) {
      if (pending_snapshot_)
        last_snapshot_version_ = result.version;
      answer(std::move(result));
      if constexpr (process_manager<A>)
        send_outbox_from(outbox_.unsent_from);
    } else {
      answer(std::move(result));
      // The events were applied in anticipation; the store does not have them: read back what it has.
      reload();
      return;
    }
    drain();
  }

  /// An idempotent command the store had seen: nothing was written; answers the first answer again.
  void on_duplicate(command_result first) {
    phase_ = phase::ready;
    pending_snapshot_ = false;
    if (command_->before) {
      root_ = std::move(*command_->before);
      mirror_outbox(); // what the commit added in anticipation is not due
    }
    answer(std::move(first));
    drain();
  }

  /// Takes requests from the backlog until one needs the committer (or the backlog is empty).
  void drain() {
    while (phase_ == phase::ready && waiting()) {
      auto request = std::move(backlog_->requests[backlog_->next++]);
      take(request);
    }
    settle();
  }

  void take(request_envelope<A>& request) {
    if (request.on_query)
      run_query(request);
    else
      run_command(request);
  }

  /// Once nothing waits: gives the backlog's memory back, and stops when asked to or over the budget.
  void settle() {
    if (waiting())
      return;
    // An idle instance keeps no backlog: most instances are idle, and a burst is rare.
    backlog_.reset();
    // Over the budget, an instance that falls idle makes room itself: the directory asks the least recently used
    // ones first, but they may all have been busy when it looked.
    if (passivation_requested_ || over_budget())
      try_passivate();
  }

  void run_query(request_envelope<A>& request) {
    command_result status;
    const aggregate_root<A>* state = nullptr;
    if (load_error_)
      status = command_result::failure(command_errc::storage_failure, *load_error_);
    else if (!root_.exists())
      status = command_result::failure(command_errc::not_found, describe() + " does not exist");
    else
      state = &root_;
    status.version = root_.version();
    guarded([&] { request.on_query(state, status); });
  }

  void run_command(request_envelope<A>& request) {
    command_ = std::make_unique<command_in_hand>();
    command_->reply = std::move(request.on_result);
    command_->on_accepted_state = std::move(request.on_accepted_state);
    command_->internal = request.internal;
    if constexpr (process_manager<A>)
      if (request.outbox_step != 0) // its answer is being recorded: from now on the state decides about it
        outbox_.erase(request.outbox_step);
    if (std::chrono::steady_clock::now() > request.deadline)
      return answer(command_result::failure(command_errc::timeout, "command to " + describe() +
                                                                      " was not started before its deadline"));
    if (load_error_)
      return answer(command_result::failure(command_errc::storage_failure, *load_error_));
    if (request.expected_version != any_version && request.expected_version != root_.version())
      return answer(version_conflict(request.expected_version));
    if (request.events) // a working copy's save, decided on the copy at this very version; never empty
      return commit(*request.events);
    auto creates = std::visit([](const auto& c) { return creates_aggregate_v<std::decay_t<decltype(c)>>; },
                              request.command);
    if (!root_.exists() && (!creates || root_.version() > 0))
      return answer(command_result::failure(command_errc::not_found, describe() + " does not exist"));
    // An idempotent command is decided like any other: the store's append recognises a repeat (one check, no
    // read here on a scheduler thread) and the committer answers it with the first answer.
    command_->cause = std::move(request.cause);
    std::vector<typename A::event> events;
    try {
      auto verdict = root_.decide(request.command);
      if (!verdict) {
        auto r = command_result::failure(command_errc::rejected, verdict.error().message);
        r.version = root_.version();
        if (command_->cause)
          return record_rejection(std::move(r));
        return answer(std::move(r));
      }
      events = std::move(verdict).events();
    } catch (const std::exception& e) {
      return answer(command_result::failure(command_errc::rejected,
                                            "command handler of " + describe() + " threw: " + e.what()));
    }
    if (events.empty() && !command_->cause) {
      command_result r;
      r.version = root_.version();
      answer(std::move(r));
      return;
    }
    commit(events);
  }

  /// The answer to a request that expected another version (optimistic concurrency): nothing is decided.
  command_result version_conflict(std::uint64_t expected) const {
    auto r = command_result::failure(command_errc::conflict, describe() + " is at version " +
                                                               std::to_string(root_.version()) + ", not " +
                                                               std::to_string(expected) + " as expected");
    r.version = root_.version();
    return r;
  }

  /// Stores the rejection of an idempotent command (no event) before answering it.
  void record_rejection(command_result rejection) {
    store::append_request append;
    append.stream = type_.stream_name(root_.id());
    append.expected_version = root_.version();
    const auto& cause = *command_->cause;
    append.causation = store::causation_record{cause.source, cause.sequence, false, rejection.message, 0};
    command_->recorded_rejection = std::move(rejection);
    phase_ = phase::committing;
    type_.core.commits->submit(std::move(append), caf::actor_cast<caf::actor>(this));
  }

  /// Process managers: lists the whole outbox again (after a load), keeping what is already on its way.
  void mirror_outbox() {
    if constexpr (process_manager<A>) {
      std::map<std::uint64_t, outbox_entry> due;
      for (auto& out : root_.state().outbox()) {
        auto step = out.step;
        auto known = outbox_.due.find(step);
        bool sent = known != outbox_.due.end() && known->second.sent;
        due.emplace(step, outbox_entry{std::move(out), sent});
      }
      outbox_.due = std::move(due);
      outbox_.on_its_way = static_cast<std::size_t>(
        std::count_if(outbox_.due.begin(), outbox_.due.end(), [](const auto& e) { return e.second.sent; }));
      outbox_.last_step = outbox_.due.empty() ? 0 : outbox_.due.rbegin()->first;
    }
  }

  /// Process managers: adds what the events just applied put in the outbox (the new steps only, when the state
  /// can list them: see incremental_outbox).
  void mirror_new_outbox() {
    if constexpr (incremental_outbox<A>) {
      outbox_.unsent_from = outbox_.last_step + 1;
      for (auto& out : root_.state().outbox_after(outbox_.last_step)) {
        outbox_.last_step = std::max(outbox_.last_step, out.step);
        auto step = out.step;
        outbox_.due.emplace(step, outbox_entry{std::move(out), false});
      }
    } else if constexpr (process_manager<A>) {
      mirror_outbox();
      outbox_.unsent_from = 0;
    }
  }

  /// Process managers: sends every due command from `step` on that is not already on its way. A step stays
  /// "sent" until its answer is taken to be recorded, so that no step goes out twice meanwhile.
  void send_outbox_from(std::uint64_t step) {
    if constexpr (process_manager<A>) {
      auto self = caf::actor_cast<caf::actor>(this);
      for (auto it = outbox_.due.lower_bound(step); it != outbox_.due.end(); ++it) {
        auto& [number, entry] = *it;
        if (entry.sent)
          continue;
        entry.sent = true;
        ++outbox_.on_its_way;
        type_.send_outgoing(entry.command, causation{type_.stream_name(root_.id()), number},
                            [self, number = number](command_result r) {
                              caf::anon_send(self, outbox_atom::value, number, std::move(r));
                            });
      }
    } else {
      (void) step;
    }
  }

  /// Process managers: records a sent command's answer as a command of the instance itself.
  void on_outbox_answer(std::uint64_t step, const command_result& result) {
    if constexpr (process_manager<A>) {
      bool transient = result.code == command_errc::overloaded || result.code == command_errc::timeout ||
                       result.code == command_errc::storage_failure || result.code == command_errc::shutting_down ||
                       result.code == command_errc::conflict;
      if (transient) {
        // Not an answer about the command itself: send it again later (the target dedups).
        if (auto it = outbox_.due.find(step); it != outbox_.due.end() && it->second.sent) {
          it->second.sent = false;
          --outbox_.on_its_way;
        }
        if (!std::exchange(outbox_.resend_scheduled, true))
          delayed_send(this, std::chrono::milliseconds{100}, resend_atom::value);
        return;
      }
      request_envelope<A> r;
      r.command = A::result_command(step, result.ok(), result.message);
      r.deadline = std::chrono::steady_clock::time_point::max();
      r.internal = true;
      r.outbox_step = step;
      wait_in_line(std::move(r));
      drain();
    } else {
      (void) step;
      (void) result;
    }
  }

  /// Process managers: the steps refused for a transient reason meanwhile are due again.
  void on_resend() {
    if constexpr (process_manager<A>) {
      if (phase_ != phase::ready) {
        delayed_send(this, std::chrono::milliseconds{10}, resend_atom::value);
        return;
      }
      outbox_.resend_scheduled = false;
      send_outbox_from(0);
      settle();
    }
  }

  /// Process managers: some sent command is still unanswered (or waits to be sent again). Its answer comes to
  /// this actor, not through the directory: an instance that stopped now would never hear it, and its saga would
  /// wait for the next start.
  bool outbox_in_flight() const noexcept {
    if constexpr (process_manager<A>)
      return outbox_.on_its_way > 0 || outbox_.resend_scheduled;
    else
      return false;
  }

  void commit(const std::vector<typename A::event>& events) {
    store::append_request append;
    append.stream = type_.stream_name(root_.id());
    append.expected_version = root_.version();
    append.events.reserve(events.size());
    auto now = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
    for (const auto& e : events)
      append.events.push_back(type_.codec.encode(e, now.time_since_epoch().count()));
    if (const auto& cause = command_->cause) {
      append.causation = store::causation_record{cause->source, cause->sequence, true, {}, 0};
      if (!events.empty())
        command_->before = std::make_unique<aggregate_root<A>>(root_);
    }
    try {
      // Applied now, in anticipation of the commit: nothing else reads this state until the committer answers,
      // and a failed append reloads it from the store.
      root_.apply(events, now);
    } catch (const std::exception& e) {
      answer(command_result::failure(command_errc::rejected, "apply of " + describe() + " threw: " + e.what()));
      reload();
      return;
    }
    if constexpr (process_manager<A>) {
      mirror_new_outbox();
      auto marker = std::string{open_process_prefix} + append.stream;
      if (outbox_.due.empty())
        append.runtime_puts.push_back(store::runtime_put{std::move(marker), std::nullopt});
      else
        append.runtime_puts.push_back(store::runtime_put{std::move(marker), std::string{}});
    }
    pending_snapshot_ = false;
    if constexpr (snapshottable<A>) {
      auto interval = type_.core.config.snapshot_interval;
      if (interval > 0 && root_.version() / interval > last_snapshot_version_ / interval) {
        append.snapshot = store::snapshot_record{root_.version(), A::snapshot_version, store::encode(root_.state())};
        pending_snapshot_ = true;
      }
    }
    phase_ = phase::committing;
    type_.core.commits->submit(std::move(append), caf::actor_cast<caf::actor>(this));
  }

  void answer(command_result result) {
    auto done = std::move(command_);
    if (done->internal)
      return; // a process manager's own record of a result: nobody waits for it
    guarded([&] {
      if (done->on_accepted_state && result.ok())
        done->on_accepted_state(root_.state());
      done->reply(std::move(result));
    });
  }

  /// Runs a caller's callback; an exception from it must not kill the instance.
  template <class F>
  void guarded(F&& f) {
    type_.core.in_flight.fetch_sub(1, std::memory_order_relaxed);
    try {
      f();
    } catch (...) {
      // The callback belongs to the caller; its failure is the caller's and changes nothing here.
    }
  }

  void try_passivate() {
    if (phase_ != phase::ready || waiting() || entry_ == nullptr || outbox_in_flight())
      return;
    if (type_.instances->try_remove(entry_, root_.id())) {
      entry_ = nullptr;
      quit();
    }
  }

  bool over_budget() const noexcept {
    const auto& budget = type_.core.budget;
    return budget.max_active != 0 && budget.active.load(std::memory_order_relaxed) > budget.max_active;
  }

  std::string describe() const {
    return std::string{A::type_name} + " " + root_.id();
  }

  aggregate_type<A>& type_;
  aggregate_root<A> root_;
  directory_entry* entry_;
  std::uint64_t last_snapshot_version_ = 0;
  std::unique_ptr<command_in_hand> command_; ///< set from a command's start to its answer
  std::unique_ptr<std::string> load_error_;  ///< why the stream could not be read (rare: a pointer only)
  std::unique_ptr<backlog> backlog_;         ///< requests waiting their turn; none when idle
  phase phase_ = phase::loading;
  bool pending_snapshot_ = false;
  bool passivation_requested_ = false;
  [[no_unique_address]] outbox_steps outbox_; ///< process managers: the commands due, and which are on their way
};

} // namespace cairn::detail
