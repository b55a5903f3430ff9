// The actor of one aggregate instance, for every aggregate type (the typed work goes through its type_binding).
//
// It activates by reading its stream (latest snapshot, then the events after it, in chunks) on the activation
// pool, then takes its requests strictly one at a time: decide the command against the committed state, hand the
// events to the committer, and take nothing else until the committer answers. Requests that arrive meanwhile wait
// in the actor's own backlog (in arrival order), so nobody sees a pending state. A failed append makes the actor
// reload its state from the store before it takes the next request. The save of a working copy
// (working_copy.hpp) takes its turn like a command: its events were decided on the copy, at the version the request
// expects, and go to the committer as they are.
#pragma once

#include <cairn/runtime/detail/messages.hpp>
#include <cairn/runtime/detail/type_slot.hpp>

#include <caf/event_based_actor.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace caf {
class type_erased_tuple;
}

namespace cairn::detail {

/// Key of the marker that a process instance has commands due: kept in the same batch as its events, in the
/// store's runtime key space (store::runtime_put, apart from every projection's keys), scanned at start so that a
/// process interrupted by a crash is resumed without waiting for a new input. The store's upgrade from format 1
/// moves the markers of that format here under the same prefix.
inline constexpr std::string_view open_process_prefix = "open-process/";

class instance_actor final : public caf::event_based_actor {
public:
  instance_actor(caf::actor_config& cfg, type_slot& type, const std::string& id, directory_entry* entry);
  ~instance_actor() override;

  caf::behavior make_behavior() override;

private:
  enum class phase : std::uint8_t { loading, ready, committing };
  struct command_in_hand;
  struct outbox_mirror;
  struct backlog;

  void on_request(binding::request_ptr& request);
  bool waiting() const noexcept;
  void wait_in_line(binding::request_ptr&& request);
  void on_signal(caf::type_erased_tuple& msg);
  void reload();
  void start_loading();
  void on_loaded(binding::loaded& outcome);
  void on_committed(command_result result);
  void on_duplicate(command_result first);
  void drain();
  void take(binding::request_ptr& request);
  void settle();
  void run_query(const binding::request& request);
  void run_command(binding::request_ptr request);
  command_result version_conflict(std::uint64_t expected) const;
  void record_rejection(command_result rejection);
  void mirror_outbox();
  void mirror_new_outbox();
  void send_outbox_from(std::uint64_t step);
  void on_outbox_answer(std::uint64_t step, const command_result& result);
  void on_resend();
  bool outbox_in_flight() const noexcept;
  void commit();
  void answer(command_result result);
  template <class F>
  void guarded(F&& f);
  void try_passivate();
  bool over_budget() const noexcept;
  std::uint64_t version() const noexcept;
  std::string describe() const;

  type_slot& type_;
  std::unique_ptr<binding::instance> state_; ///< the committed state (its id's empty state until loaded)
  directory_entry* entry_;
  std::uint64_t last_snapshot_version_ = 0;
  std::unique_ptr<command_in_hand> command_; ///< set from a command's start to its answer
  std::unique_ptr<std::string> load_error_;  ///< why the stream could not be read (rare: a pointer only)
  std::unique_ptr<backlog> backlog_;         ///< requests waiting their turn; none when idle
  std::unique_ptr<outbox_mirror> outbox_;    ///< process managers: the commands due, and which are on their way
  phase phase_ = phase::loading;
  bool pending_snapshot_ = false;
  bool passivation_requested_ = false;
};

} // namespace cairn::detail
