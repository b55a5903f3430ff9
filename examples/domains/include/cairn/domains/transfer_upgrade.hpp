// Upgrading stored transfers: the upcasters that let transfers written before the transfer ran on cairn::saga
// (saga.hpp) load into the current transfer with the same meaning, finished or still open.
//
// What changed in the stored form. The event types and their payloads did not: "transfer.started",
// "transfer.debit_accepted", "transfer.debit_refused", "transfer.credit_accepted", "transfer.credit_refused",
// "transfer.refund_accepted", "transfer.refund_refused" keep their names and fields, and no event disappeared
// (the old command record_result became the framework's saga_result; commands are not stored). What changed is
// how an answer to a step is recorded:
//   * before: the answer event alone (e.g. "transfer.debit_accepted", schema version 1); the transfer kept the due
//     step in a field (due_step_) that each answer event moved on;
//   * now: the framework's "transfer.step_answered" {step, accepted, message} first, which takes the step out of
//     the outbox, then the answer event (schema version 2, same payload), whose apply only sends the next step.
// Replayed unchanged, an old stream would leave every answered step in the outbox: a finished transfer would send
// its steps again. So each answer event of schema version 1 is upcast into the step_answered it implies, then
// itself at version 2 (same payload bytes):
//   debit_*  -> step 1, credit_* -> step 2, refund_* -> step 3 (the old fixed numbers, which are also the numbers
//   the framework gives the steps, in the order they are sent: the debit first, the credit only after the debit
//   was accepted, the refund only after the credit was refused);
//   *_accepted -> accepted, empty message; *_refused -> refused, with the account's message taken back out of the
//   stored reason ("credit of 'bob' refused: account is closed" -> "account is closed").
// An old *_accepted may stand for a refusal "already processed" that the old transfer took as acceptance; it is
// upcast as accepted (the events that follow are the same either way). Steps keep their numbers, so the causation
// of a step sent again after the upgrade, (stream "transfer-<id>", step), is the one the old runtime gave it and
// the accounts recognise a step they already applied. Old snapshots (snapshot_version 1) are skipped by the
// runtime, which replays the stream instead. A stream of a build between cairn::saga and this upgrade (a
// step_answered, then a version-1 answer) gets a second step_answered for the same step, which changes nothing.
//
// Header-only, on cairn::store (which the example domains library itself does not link): include it where the
// codec is, e.g. next to the runtime.
//
//   runtime rt{cfg};
//   rt.register_process_manager<transfers::transfer, accounts::account>();
//   transfers::add_upcasters(rt.codec<transfers::transfer>()); // before rt.start()
//
// Thread-safety: add_upcasters() changes the codec (before the codec is shared); the upcasters it adds are pure
// functions, callable from many threads at once.
#pragma once

#include <cairn/domains/transfer.hpp>
#include <cairn/store/codec.hpp>
#include <cairn/store/event_codec.hpp>
#include <cairn/store/event_store.hpp>
#include <cairn/store/result.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cairn::domains::transfers {

namespace upgrade_detail {

using records = std::vector<store::event_record>;
using upcaster = store::event_codec<transfer::event>::upcaster;

/// The account's message inside a reason the old transfer stored: "<what> of '<account>' refused[: <message>]".
/// A reason of another form is the message itself.
inline std::string message_of(std::string_view what, std::string_view reason) {
  const std::string head = std::string{what} + " of '";
  if (!reason.starts_with(head))
    return std::string{reason};
  const auto end = reason.find("' refused", head.size());
  if (end == std::string_view::npos)
    return std::string{reason};
  auto rest = reason.substr(end + std::string_view{"' refused"}.size());
  if (rest.empty())
    return {};
  if (rest.starts_with(": "))
    return std::string{rest.substr(2)};
  return std::string{reason};
}

/// step_answered{step, accepted, message}, then `old` at Event's current schema version (the payload is the same).
template <class Event>
records answered(const store::event_record& old, std::uint64_t step, bool accepted, std::string message) {
  records out;
  out.push_back(store::make_event_record(step_answered<transfer>{step, accepted, std::move(message)},
                                         old.timestamp_us));
  auto current = old;
  current.schema_version = Event::schema_version;
  out.push_back(std::move(current));
  return out;
}

/// The upcaster of an old answer event that carries no message (an acceptance).
template <class Event>
upcaster accepted(std::uint64_t step) {
  return [step](const store::event_record& old) -> store::result<records> {
    return answered<Event>(old, step, true, {});
  };
}

/// The upcaster of an old refusal, whose payload is the reason.
template <class Event>
upcaster refused(std::uint64_t step, std::string_view what) {
  return [step, what](const store::event_record& old) -> store::result<records> {
    Event e;
    if (auto st = store::decode(old.payload, e); !st)
      return st.error();
    return answered<Event>(old, step, false, message_of(what, e.reason));
  };
}

} // namespace upgrade_detail

/// Adds to `codec` the upcasters of the answer events written before the transfer ran on cairn::saga (schema
/// version 1; see the top of this file). Call it once per codec, before the codec is used: with the runtime,
/// `add_upcasters(rt.codec<transfer>())` after registering the transfer and before start().
inline void add_upcasters(store::event_codec<transfer::event>& codec) {
  using namespace upgrade_detail;
  codec.add_upcaster(std::string{debit_accepted::event_type}, 1, accepted<debit_accepted>(debit_step));
  codec.add_upcaster(std::string{debit_refused::event_type}, 1, refused<debit_refused>(debit_step, "debit"));
  codec.add_upcaster(std::string{credit_accepted::event_type}, 1, accepted<credit_accepted>(credit_step));
  codec.add_upcaster(std::string{credit_refused::event_type}, 1, refused<credit_refused>(credit_step, "credit"));
  codec.add_upcaster(std::string{refund_accepted::event_type}, 1, accepted<refund_accepted>(refund_step));
  codec.add_upcaster(std::string{refund_refused::event_type}, 1, refused<refund_refused>(refund_step, "refund"));
}

} // namespace cairn::domains::transfers
