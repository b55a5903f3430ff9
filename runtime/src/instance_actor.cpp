#include <cairn/runtime/detail/instance_actor.hpp>

#include <caf/actor_cast.hpp>
#include <caf/message_view.hpp>
#include <caf/send.hpp>
#include <caf/type_erased_tuple.hpp>

#include <algorithm>
#include <chrono>
#include <exception>
#include <functional>
#include <optional>

namespace cairn::detail {

/// What the instance keeps of the command in hand, from its start to its answer: idle instances hold none.
struct instance_actor::command_in_hand {
  binding::request_ptr request; ///< its callbacks: the reply, a typed reply's view
  std::optional<command_result> recorded_rejection; ///< an idempotent command's rejection, being stored
  /// An idempotent command's state before its events were applied in anticipation: if the store finds the
  /// command a repeat, nothing was written and the state goes back to this, without reading the stream again.
  std::unique_ptr<binding::instance> before;
};

/// Process managers keep the commands their state says are due, by step, and which are on their way.
struct instance_actor::outbox_mirror {
  struct entry {
    binding::outbox_item item;
    bool sent = false;
  };
  std::map<std::uint64_t, entry> due;
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

/// Requests that arrived while another was in hand, in arrival order; allocated only while some wait.
struct instance_actor::backlog {
  std::vector<binding::request_ptr> requests;
  std::size_t next = 0; ///< the first one not yet taken
};

instance_actor::instance_actor(caf::actor_config& cfg, type_slot& type, const std::string& id,
                               directory_entry* entry)
  : caf::event_based_actor(cfg), type_(type), state_(type.type.empty(id)), entry_(entry) {
  if (type_.type.is_process_manager())
    outbox_ = std::make_unique<outbox_mirror>();
}

instance_actor::~instance_actor() = default;

/// Runs a caller's callback; an exception from it must not kill the instance.
template <class F>
void instance_actor::guarded(F&& f) {
  type_.core.in_flight.fetch_sub(1, std::memory_order_relaxed);
  try {
    f();
  } catch (...) {
    // The callback belongs to the caller; its failure is the caller's and changes nothing here.
  }
}

caf::behavior instance_actor::make_behavior() {
  start_loading();
  // Only the hot path is a case of the behavior: every case costs each instance a match case and its entry in
  // the behavior's table. The instance's other messages go through the default handler, a function without
  // captures that CAF keeps in the actor anyway (docs/runtime.md, "Memory per instance"). A message it does
  // not know is dropped, as before.
  set_default_handler([](caf::scheduled_actor* self, caf::message_view& msg) -> caf::result<caf::message> {
    static_cast<instance_actor*>(self)->on_signal(msg.content());
    return caf::message{};
  });
  return {
    [this](binding::request_ptr& request) { on_request(request); },
  };
}

void instance_actor::on_request(binding::request_ptr& request) {
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

bool instance_actor::waiting() const noexcept {
  return backlog_ && backlog_->next < backlog_->requests.size();
}

void instance_actor::wait_in_line(binding::request_ptr&& request) {
  if (!backlog_)
    backlog_ = std::make_unique<backlog>();
  backlog_->requests.push_back(std::move(request));
}

/// Everything but requests: activation, commit and outbox answers, resends, passivation requests.
void instance_actor::on_signal(caf::type_erased_tuple& msg) {
  if (msg.match_elements<committed_atom, command_result>()) {
    on_committed(std::move(msg.get_mutable_as<command_result>(1)));
  } else if (msg.match_elements<duplicate_atom, command_result>()) {
    on_duplicate(std::move(msg.get_mutable_as<command_result>(1)));
  } else if (msg.match_elements<loaded_atom, std::shared_ptr<binding::loaded>>()) {
    auto outcome = msg.get_mutable_as<std::shared_ptr<binding::loaded>>(1);
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
void instance_actor::reload() {
  type_.core.reloads.fetch_add(1, std::memory_order_relaxed);
  start_loading();
}

void instance_actor::start_loading() {
  phase_ = phase::loading;
  auto self = caf::actor_cast<caf::actor>(this);
  type_.core.loader->post([&type = type_.type, &store = *type_.core.store, self, id = state_->id()] {
    caf::anon_send(self, loaded_atom::value, type.load(store, id));
  });
}

void instance_actor::on_loaded(binding::loaded& outcome) {
  if (outcome.error.empty()) {
    load_error_.reset();
    state_ = std::move(outcome.state);
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

void instance_actor::on_committed(command_result result) {
  phase_ = phase::ready;
  if (result.ok() && command_ && command_->recorded_rejection) {
    // The rejection of an idempotent command is stored (so that a redelivery gets it again); nothing else was.
    answer(*std::exchange(command_->recorded_rejection, std::nullopt));
  } else if (result.ok()) {
    if (pending_snapshot_)
      last_snapshot_version_ = result.version;
    answer(std::move(result));
    if (outbox_)
      send_outbox_from(outbox_->unsent_from);
  } else {
    answer(std::move(result));
    // The events were applied in anticipation; the store does not have them: read back what it has.
    reload();
    return;
  }
  drain();
}

/// An idempotent command the store had seen: nothing was written; answers the first answer again.
void instance_actor::on_duplicate(command_result first) {
  phase_ = phase::ready;
  pending_snapshot_ = false;
  if (command_->before) {
    state_ = std::move(command_->before);
    mirror_outbox(); // what the commit added in anticipation is not due
  }
  answer(std::move(first));
  drain();
}

/// Takes requests from the backlog until one needs the committer (or the backlog is empty).
void instance_actor::drain() {
  while (phase_ == phase::ready && waiting()) {
    auto request = std::move(backlog_->requests[backlog_->next++]);
    take(request);
  }
  settle();
}

void instance_actor::take(binding::request_ptr& request) {
  if (request->on_query)
    run_query(*request);
  else
    run_command(std::move(request));
}

/// Once nothing waits: gives the backlog's memory back, and stops when asked to or over the budget.
void instance_actor::settle() {
  if (waiting())
    return;
  // An idle instance keeps no backlog: most instances are idle, and a burst is rare.
  backlog_.reset();
  // Over the budget, an instance that falls idle makes room itself: the directory asks the least recently used
  // ones first, but they may all have been busy when it looked.
  if (passivation_requested_ || over_budget())
    try_passivate();
}

void instance_actor::run_query(const binding::request& request) {
  command_result status;
  bool with_state = false;
  if (load_error_)
    status = command_result::failure(command_errc::storage_failure, *load_error_);
  else if (!state_->exists())
    status = command_result::failure(command_errc::not_found, describe() + " does not exist");
  else
    with_state = true;
  status.version = version();
  guarded([&] { state_->answer_query(request, status, with_state); });
}

void instance_actor::run_command(binding::request_ptr request) {
  command_ = std::make_unique<command_in_hand>();
  command_->request = std::move(request);
  auto& r = *command_->request;
  if (outbox_ && r.outbox_step != 0) // its answer is being recorded: from now on the state decides about it
    outbox_->erase(r.outbox_step);
  if (std::chrono::steady_clock::now() > r.deadline)
    return answer(command_result::failure(command_errc::timeout, "command to " + describe() +
                                                                    " was not started before its deadline"));
  if (load_error_)
    return answer(command_result::failure(command_errc::storage_failure, *load_error_));
  if (r.expected_version != any_version && r.expected_version != version())
    return answer(version_conflict(r.expected_version));
  if (state_->is_save(r)) // a working copy's save, decided on the copy at this very version; never empty
    return commit();
  if (!state_->exists() && (!state_->creates(r) || version() > 0))
    return answer(command_result::failure(command_errc::not_found, describe() + " does not exist"));
  // An idempotent command is decided like any other: the store's append recognises a repeat (one check, no
  // read here on a scheduler thread) and the committer answers it with the first answer.
  std::string rejection;
  binding::decided verdict;
  try {
    verdict = state_->decide(r, rejection);
  } catch (const std::exception& e) {
    return answer(command_result::failure(command_errc::rejected,
                                          "command handler of " + describe() + " threw: " + e.what()));
  }
  if (verdict == binding::decided::rejected) {
    auto rejected = command_result::failure(command_errc::rejected, std::move(rejection));
    rejected.version = version();
    if (r.cause)
      return record_rejection(std::move(rejected));
    return answer(std::move(rejected));
  }
  if (verdict == binding::decided::nothing && !r.cause) {
    command_result accepted;
    accepted.version = version();
    return answer(std::move(accepted));
  }
  if (r.cause && verdict == binding::decided::events)
    command_->before = state_->clone();
  commit();
}

/// The answer to a request that expected another version (optimistic concurrency): nothing is decided.
command_result instance_actor::version_conflict(std::uint64_t expected) const {
  auto r = command_result::failure(command_errc::conflict, describe() + " is at version " +
                                                             std::to_string(version()) + ", not " +
                                                             std::to_string(expected) + " as expected");
  r.version = version();
  return r;
}

/// Stores the rejection of an idempotent command (no event) before answering it.
void instance_actor::record_rejection(command_result rejection) {
  store::append_request append;
  append.stream = type_.type.stream_name(state_->id());
  append.expected_version = version();
  const auto& cause = *command_->request->cause;
  append.causation = store::causation_record{cause.source, cause.sequence, false, rejection.message, 0};
  command_->recorded_rejection = std::move(rejection);
  phase_ = phase::committing;
  type_.core.commits->submit(std::move(append), caf::actor_cast<caf::actor>(this));
}

/// Process managers: lists the whole outbox again (after a load), keeping what is already on its way.
void instance_actor::mirror_outbox() {
  if (!outbox_)
    return;
  std::map<std::uint64_t, outbox_mirror::entry> due;
  for (auto& item : state_->outbox(type_.type, 0, true)) {
    auto step = item.step;
    auto known = outbox_->due.find(step);
    bool sent = known != outbox_->due.end() && known->second.sent;
    due.emplace(step, outbox_mirror::entry{std::move(item), sent});
  }
  outbox_->due = std::move(due);
  outbox_->on_its_way = static_cast<std::size_t>(
    std::count_if(outbox_->due.begin(), outbox_->due.end(), [](const auto& e) { return e.second.sent; }));
  outbox_->last_step = outbox_->due.empty() ? 0 : outbox_->due.rbegin()->first;
}

/// Process managers: adds what the events just applied put in the outbox (the new steps only, when the state
/// can list them: see incremental_outbox; else the whole outbox again).
void instance_actor::mirror_new_outbox() {
  outbox_->unsent_from = outbox_->last_step + 1;
  for (auto& item : state_->outbox(type_.type, outbox_->last_step, false)) {
    outbox_->last_step = std::max(outbox_->last_step, item.step);
    auto step = item.step;
    outbox_->due.emplace(step, outbox_mirror::entry{std::move(item), false});
  }
}

/// Process managers: sends every due command from `step` on that is not already on its way. A step stays
/// "sent" until its answer is taken to be recorded, so that no step goes out twice meanwhile.
void instance_actor::send_outbox_from(std::uint64_t step) {
  if (!outbox_)
    return;
  auto self = caf::actor_cast<caf::actor>(this);
  auto stream = type_.type.stream_name(state_->id());
  for (auto it = outbox_->due.lower_bound(step); it != outbox_->due.end(); ++it) {
    auto& [number, entry] = *it;
    if (entry.sent)
      continue;
    entry.sent = true;
    ++outbox_->on_its_way;
    entry.item.send(causation{stream, number}, [self, number = number](command_result r) {
      caf::anon_send(self, outbox_atom::value, number, std::move(r));
    });
  }
}

/// Process managers: records a sent command's answer as a command of the instance itself.
void instance_actor::on_outbox_answer(std::uint64_t step, const command_result& result) {
  if (!outbox_)
    return;
  bool transient = result.code == command_errc::overloaded || result.code == command_errc::timeout ||
                   result.code == command_errc::storage_failure || result.code == command_errc::shutting_down ||
                   result.code == command_errc::unavailable || result.code == command_errc::conflict;
  if (transient) {
    // Not an answer about the command itself: send it again later (the target dedups).
    if (auto it = outbox_->due.find(step); it != outbox_->due.end() && it->second.sent) {
      it->second.sent = false;
      --outbox_->on_its_way;
    }
    if (!std::exchange(outbox_->resend_scheduled, true))
      delayed_send(this, std::chrono::milliseconds{100}, resend_atom::value);
    return;
  }
  wait_in_line(type_.type.result_request(step, result));
  drain();
}

/// Process managers: the steps refused for a transient reason meanwhile are due again.
void instance_actor::on_resend() {
  if (!outbox_)
    return;
  if (phase_ != phase::ready) {
    delayed_send(this, std::chrono::milliseconds{10}, resend_atom::value);
    return;
  }
  outbox_->resend_scheduled = false;
  send_outbox_from(0);
  settle();
}

/// Process managers: some sent command is still unanswered (or waits to be sent again). Its answer comes to
/// this actor, not through the directory: an instance that stopped now would never hear it, and its saga would
/// wait for the next start.
bool instance_actor::outbox_in_flight() const noexcept {
  return outbox_ && (outbox_->on_its_way > 0 || outbox_->resend_scheduled);
}

/// Commits the staged events of the command in hand (none for an idempotent command that decided nothing).
void instance_actor::commit() {
  store::append_request append;
  append.stream = type_.type.stream_name(state_->id());
  append.expected_version = version();
  auto now = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
  if (const auto& cause = command_->request->cause)
    append.causation = store::causation_record{cause->source, cause->sequence, true, {}, 0};
  try {
    // Applied now, in anticipation of the commit: nothing else reads this state until the committer answers,
    // and a failed append reloads it from the store.
    state_->commit(*command_->request, type_.type, append, now.time_since_epoch().count());
  } catch (const std::exception& e) {
    answer(command_result::failure(command_errc::rejected, "apply of " + describe() + " threw: " + e.what()));
    reload();
    return;
  }
  if (outbox_) {
    mirror_new_outbox();
    auto marker = std::string{open_process_prefix} + append.stream;
    if (outbox_->due.empty())
      append.runtime_puts.push_back(store::runtime_put{std::move(marker), std::nullopt});
    else
      append.runtime_puts.push_back(store::runtime_put{std::move(marker), std::string{}});
  }
  pending_snapshot_ = false;
  auto interval = type_.core.config.snapshot_interval;
  if (interval > 0 && version() / interval > last_snapshot_version_ / interval)
    if (auto snapshot = state_->snapshot()) {
      append.snapshot = std::move(*snapshot);
      pending_snapshot_ = true;
    }
  phase_ = phase::committing;
  type_.core.commits->submit(std::move(append), caf::actor_cast<caf::actor>(this));
}

void instance_actor::answer(command_result result) {
  auto done = std::move(command_);
  const auto& request = *done->request;
  if (request.internal)
    return; // a process manager's own record of a result: nobody waits for it
  guarded([&] {
    if (result.ok())
      state_->show_accepted(request);
    request.on_result(std::move(result));
  });
}

void instance_actor::try_passivate() {
  if (phase_ != phase::ready || waiting() || entry_ == nullptr || outbox_in_flight())
    return;
  if (type_.instances->try_remove(entry_, state_->id())) {
    entry_ = nullptr;
    quit();
  }
}

bool instance_actor::over_budget() const noexcept {
  const auto& budget = type_.core.budget;
  return budget.max_active != 0 && budget.active.load(std::memory_order_relaxed) > budget.max_active;
}

std::uint64_t instance_actor::version() const noexcept {
  return state_->version();
}

std::string instance_actor::describe() const {
  return std::string{type_.type.name()} + " " + state_->id();
}

} // namespace cairn::detail
